// Storage for tests: real AES-256 keys, random per run, under the ids a test
// names, in the shape the service runs with (config/StorageConfig.ts).
import { type SealingKey, sealingKey } from "@tokenbus/core"
import { randomBytes } from "node:crypto"
import { Result } from "effect"
import type { Storage } from "../../src/config/StorageConfig.ts"

export const testKey = (id: string): SealingKey => Result.getOrThrow(sealingKey(id, randomBytes(32)))

/** Seals with `write`, opens with it and `others`. */
export const ringStorage = (write: SealingKey, ...others: ReadonlyArray<SealingKey>): Storage => ({
  sealing: "sealed",
  ring: { write, keys: [write, ...others] }
})

/** What the tests' replicas seal with unless a test says otherwise. */
export const testStorage: Storage = ringStorage(testKey("test-1"))

export const clearStorage: Storage = { sealing: "clear", keys: [] }
