/**
 * One provider of each HTTP kind for the tests that answer from a scripted
 * client: their URLs name hosts that are never resolved, and `secretsSent`
 * lists every secret they hold, raw and as it goes on the wire, with what
 * the client recorded of each request, so a test can check that none of it
 * reaches an error.
 */
import { Redacted } from "effect"
import { ItemPath } from "../../src/kinds/itempath/ItemPath.ts"
import { OAuth2ClientCredentials } from "../../src/kinds/oauth2-client-credentials/OAuth2ClientCredentials.ts"
import { OAuth2RefreshToken } from "../../src/kinds/oauth2-refresh-token/OAuth2RefreshToken.ts"
import type { SentRequest } from "./ScriptedHttpClient.ts"

export const tokenUrl = "https://auth.example.test/oauth2/token"
export const itemPathUrl = "https://acme.itempath.example.test"

const clientId = "offline-client"
const clientSecret = "cc-s3cr3t+/&=%"
const refreshToken = "rt-original-9f3c"
const password = "pa55-W0rd!&x"

export const clientCredentials = (timeoutMillis = 2_000) =>
  OAuth2ClientCredentials.minter({
    id: "offline-cc",
    kind: "oauth2-client-credentials",
    tokenUrl,
    clientId,
    clientSecret: Redacted.make(clientSecret),
    clientAuth: "body",
    timeoutMillis
  })

/** A refresh-token grant: a call that may have reached the upstream is `refused`, never retried. */
export const refreshGrant = (timeoutMillis = 2_000) =>
  OAuth2RefreshToken.minter({
    id: "offline-rt",
    kind: "oauth2-refresh-token",
    tokenUrl,
    clientId,
    clientSecret: Redacted.make(clientSecret),
    clientAuth: "basic",
    refreshToken: Redacted.make(refreshToken),
    timeoutMillis
  })

export const itemPath = (timeoutMillis = 2_000) =>
  ItemPath.minter({
    id: "offline-itempath",
    kind: "itempath",
    baseUrl: itemPathUrl,
    username: "wms-robot",
    password: Redacted.make(password),
    applicationToken: false,
    accessTokenLifetimeSeconds: 900,
    refreshTokenLifetimeSeconds: 30 * 86_400,
    refreshMarginSeconds: 86_400,
    timeoutMillis
  })

/** The secrets, raw and encoded as they are sent, and each request's body and credentials as sent. */
export const secretsSent = (sent: ReadonlyArray<SentRequest>): ReadonlyArray<string> => [
  ...[clientSecret, refreshToken, password].flatMap((secret) => [secret, encodeURIComponent(secret)]),
  ...sent.flatMap((request) => [request.body, request.headers.authorization ?? ""].filter((text) => text.length > 0))
]
