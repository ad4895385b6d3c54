/**
 * The `signing` section: the cluster's Ed25519 private key (PKCS#8 PEM, as
 * `tokenbus keygen` writes it), a secret reference like the others. Every
 * replica of a cluster gets the same key and signs every token it sends;
 * consumers get the public half (PROTOCOL.md, "Signatures"). A key that
 * cannot be read as one stops start-up, saying so without quoting it.
 */
import { signingKeyFromPem } from "@tokenbus/core"
import { Effect, type Redacted, Result, Schema } from "effect"
import { ConfigError } from "./ConfigError.ts"
import { resolveSecret, SecretRef } from "./Secret.ts"

export const SigningConfig = Schema.Struct({ privateKey: SecretRef })
export type SigningConfig = typeof SigningConfig.Type

/** The section with its key read. */
export interface Signing {
  readonly privateKey: Redacted.Redacted<string>
}

export const resolveSigning = Effect.fnUntraced(function*(signing: SigningConfig | undefined) {
  if (signing === undefined) return undefined
  const privateKey = yield* resolveSecret("signing.privateKey", signing.privateKey)
  const key = signingKeyFromPem(privateKey)
  if (Result.isFailure(key)) {
    return yield* new ConfigError({ message: `signing.privateKey: ${key.failure.message}` })
  }
  return { privateKey } satisfies Signing
})
