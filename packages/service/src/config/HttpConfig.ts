/**
 * The `http` section (optional): the port a replica serves `/healthz`,
 * `/readyz` and `/metrics` on, for Kubernetes probes and Prometheus. Absent,
 * the replica serves no HTTP at all; `port: 0` takes a free port, which the
 * replica logs ("http listening", with `port`). `host` defaults to every
 * interface, as a pod's probes need.
 *
 *   "http": { "port": 8080 }
 *
 * The `log` section sets the log level (`TOKENBUS_LOG_LEVEL`, when set,
 * wins), so a deployment can turn on Debug without a new image.
 *
 *   "log": { "level": "Debug" }
 */
import { LogLevel, Schema } from "effect"
import { NonNegativeInt } from "./ConfigFields.ts"

export const defaultHttpHost = "0.0.0.0"

export const HttpConfig = Schema.Struct({
  port: NonNegativeInt.check(Schema.isLessThanOrEqualTo(65_535)),
  host: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1)))
})
export type HttpConfig = typeof HttpConfig.Type

export const LogConfig = Schema.Struct({
  level: Schema.optionalKey(Schema.Literals(LogLevel.values))
})
export type LogConfig = typeof LogConfig.Type
