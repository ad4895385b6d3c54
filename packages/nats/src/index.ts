export * from "./KvBucket.ts"
export * from "./NatsAuth.ts"
export * from "./NatsConnection.ts"
export * from "./NatsError.ts"
