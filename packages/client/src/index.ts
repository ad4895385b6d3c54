export * from "./ServiceUnavailable.ts"
export * from "./TokenbusClient.ts"
export * from "./TokenClient.ts"
export * from "./TokenClientOptions.ts"
