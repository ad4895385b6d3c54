/**
 * A provider id names one upstream credential (say `project44-eu`). It is
 * used as a NATS subject token and a KV key, so it is restricted to
 * characters that are safe in both.
 */
import { Schema } from "effect"

export const ProviderId = Schema.String.check(
  Schema.isPattern(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
    message: "a provider id is 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit"
  })
)

export type ProviderId = typeof ProviderId.Type
