/**
 * Field schemas the configuration's parts share: URLs, durations, counts and
 * defaults. Kept apart from ServiceConfig.ts because each provider kind's
 * module defines its own config with them, and ServiceConfig imports those.
 */
import { Effect, Schema } from "effect"

export const HttpUrl = Schema.String.check(
  Schema.makeFilter((url) =>
    (URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)) || "expected an http:// or https:// URL")
)

export const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

export const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** A field that may be left out, and then takes `value`. */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
