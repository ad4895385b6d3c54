/**
 * A fingerprint of a provider's configuration with its secrets' current
 * values, so the circuit breaker can tell "nothing changed" from "an operator
 * fixed the secret" without ever storing a secret: only the hash goes to KV.
 */
import { createHash } from "node:crypto"
import { Redacted } from "effect"

/** `JSON.stringify` applies `toJSON` (which hides a Redacted) before a replacer sees the value: look at the holder. */
function revealSecrets(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]
  return Redacted.isRedacted(raw) ? Redacted.value(raw) : value
}

export const fingerprint = (provider: object): string =>
  createHash("sha256").update(JSON.stringify(provider, revealSecrets)).digest("hex").slice(0, 32)
