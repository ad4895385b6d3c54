export * from "./ServiceUnavailable.ts"
export * from "./TokenbusClient.ts"
export * from "./TokenClient.ts"
export * from "./TokenClientOptions.ts"
// What a consumer's code names without depending on @tokenbus/core itself.
export {
  CredentialsRejected,
  InvalidRequest,
  ProviderNotFound,
  type ProtocolError,
  type Token,
  TokenUnavailable,
  UnsupportedProtocolVersion
} from "@tokenbus/core"
