/**
 * Field schemas the domain's structures share: times, counts, versions, and
 * defaults for optional fields. The service's configuration builds on the
 * same ones.
 */
import { Effect, Schema } from "effect"

/**
 * Epoch milliseconds, or a duration in milliseconds. Finite: JSON.parse reads `1e400` as Infinity, which
 * would be kept, compared and then written back as `null`.
 */
export const Millis = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

export const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

export const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** A token's version: grows with every token of a provider (`nextVersion` in Token.ts), below 2^53. */
export const Version = PositiveInt

/** A field that may be left out, and then takes `value`. */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
