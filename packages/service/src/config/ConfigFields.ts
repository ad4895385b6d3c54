/**
 * Field schemas the configuration's parts share: core's times, counts and
 * defaults, and URLs. Kept apart from ServiceConfig.ts because each provider
 * kind's module defines its own config with them, and ServiceConfig imports
 * those.
 */
import { Schema } from "effect"

export { NonNegativeInt, PositiveInt, withDefault } from "@tokenbus/core"

export const HttpUrl = Schema.String.check(
  Schema.makeFilter((url) =>
    (URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)) || "expected an http:// or https:// URL")
)

