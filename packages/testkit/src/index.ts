export {
  type ProgressLog,
  type RateLimitSettings,
  type RetrySettings,
  type StartTokenbusOptions,
  type UpstreamSettings
} from "./StartTokenbusOptions.ts"
export { startTokenbus } from "./startTokenbus.ts"
export { TestKitError, type TestKitStep } from "./TestKitError.ts"
export { type KitReplica, PROVIDER, TokenbusKit } from "./TokenbusKit.ts"
export { DEFAULT_NATS_IMAGE } from "./internal/DockerImage.ts"
