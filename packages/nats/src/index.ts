export * from "./KvBucket.ts"
export * from "./NatsConnection.ts"
export * from "./NatsError.ts"
