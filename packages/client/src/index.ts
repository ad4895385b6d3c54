export * from "./http/FetchFailed.ts"
export type { RetryPolicy } from "./http/RetryPolicy.ts"
export type { TokenFetch, TokenFetchInit } from "./http/tokenFetch.ts"
export * as TokenHttpClient from "./http/TokenHttpClient.ts"
export type { TokenSource } from "./http/TokenSource.ts"
export * from "./NotPermitted.ts"
export * from "./ServiceUnavailable.ts"
export * from "./TokenbusClient.ts"
export * from "./TokenClient.ts"
export * from "./TokenClientOptions.ts"
export * from "./UnsealableToken.ts"
export * from "./UntrustedToken.ts"
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
