/**
 * The provider kinds tokenbus knows: the one list the config decoder, the
 * leader and the CLI read. A new kind is a folder beside this file exporting
 * a `ProviderKind`, and one line here.
 */
import { ItemPath } from "./itempath/ItemPath.ts"
import { OAuth2ClientCredentials } from "./oauth2-client-credentials/OAuth2ClientCredentials.ts"
import { OAuth2RefreshToken } from "./oauth2-refresh-token/OAuth2RefreshToken.ts"
import type { AnyProviderKind } from "./ProviderKind.ts"
import { StaticToken } from "./static/StaticToken.ts"

export const providerKinds: ReadonlyArray<AnyProviderKind> = [
  OAuth2ClientCredentials,
  ItemPath,
  OAuth2RefreshToken,
  StaticToken
]

/** The kind named `name`; the config's schema only lets through names listed above. */
export const kindNamed = (name: string): AnyProviderKind | undefined => providerKinds.find((kind) => kind.name === name)
