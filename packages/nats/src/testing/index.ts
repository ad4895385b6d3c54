export * from "./MemoryKvBucket.ts"
export * from "./MemoryNats.ts"
export * from "./MemoryNatsConnection.ts"
export * from "./FakeNatsServer.ts"
