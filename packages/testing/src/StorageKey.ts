/**
 * The key test replicas seal the tokens bucket with (the service's
 * `storage` section): random per test process, read by every replica from
 * `$TOKENBUS_TEST_STORAGE_KEY`, which `spawnReplica` sets unless a test
 * passes its own. A real key rather than `accessTokensInClear`, so every
 * integration test runs with sealing on, and one a test can use to open what
 * the replicas stored.
 */
import { randomBytes } from "node:crypto"

export const STORAGE_KEY_ENV = "TOKENBUS_TEST_STORAGE_KEY"
export const STORAGE_KEY_ID = "test-1"

/** The base64 of the key's 32 bytes. */
export const storageKey: string = randomBytes(32).toString("base64")

/** The `storage` section of a test replica's config: the one key, from `$TOKENBUS_TEST_STORAGE_KEY`. */
export const testStorage = {
  keys: [{ id: STORAGE_KEY_ID, key: { env: STORAGE_KEY_ENV } }],
  writeKey: STORAGE_KEY_ID
} as const
