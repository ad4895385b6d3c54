export * from "./DevStack.ts"
export * from "./JetStreamHealth.ts"
export * from "./NatsServerError.ts"
export * from "./NatsServerProcess.ts"
