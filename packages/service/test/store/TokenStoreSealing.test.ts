// The tokens bucket's secrets at rest, on the real TokenStore over an
// in-memory KV: what KV holds never shows the access token or the carry,
// yet reads back whole; a key rotation (write with A; ring [B, A] writing B
// still reads and re-seals; ring [B] reads) loses nothing; a record whose
// key is gone, altered, or copied to another provider reads as a state that
// does not decode, with its key id logged and nothing secret; so does a
// record whose access token or carry someone wrote in clear behind the
// store's back, or whose sealed access token was moved under another
// version; while turning sealing on (`readClear`), a record written in clear
// still reads and is sealed by the next write.
import { assert, describe, it } from "@effect/vitest"
import { sealedWith } from "@tokenbus/core"
import { makeMemoryKvStore, type MemoryKvBucket } from "@tokenbus/nats/testing"
import { Effect, Logger, Option, Redacted, References } from "effect"
import type { Storage } from "../../src/config/StorageConfig.ts"
import * as PinoLogger from "../../src/logging/PinoLogger.ts"
import { TokenStore } from "../../src/store/TokenStore.ts"
import { clearStorage, ringStorage, testKey } from "../support/StorageKeys.ts"

const provider = "crm"
const ACCESS = "canary-access-token-5e1f0a"
const REFRESH = "canary-refresh-token-c7d2b9"
const state = {
  token: { accessToken: Redacted.make(ACCESS), tokenType: "Bearer", issuedAt: 0, reason: "initial" as const },
  carry: Redacted.make(JSON.stringify({ refreshToken: REFRESH })),
  fence: { holder: "replica-1", term: 3 }
}

const keyA = testKey("key-a")
const keyB = testKey("key-b")

type Line = Record<string, unknown> & { readonly msg: string; readonly level: number }

/** Runs `effect` with the real logger writing into a list, and returns both. */
const logged = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const lines: Array<Line> = []
    const write = (line: string) => void lines.push(JSON.parse(line) as Line)
    const value = yield* effect.pipe(
      Effect.provide(Logger.layer([PinoLogger.make({ write })])),
      Effect.provideService(References.MinimumLogLevel, "All")
    )
    return { value, lines }
  })

const bucketOf = Effect.flatMap(makeMemoryKvStore("tokens"), (kv) => kv.view)
const raw = (bucket: MemoryKvBucket, key = provider) =>
  bucket.get(key).pipe(
    Effect.map(Option.match({ onNone: () => assert.fail(`nothing stored at ${key}`), onSome: (stored) => stored }))
  )
const storeOf = (bucket: MemoryKvBucket, storage: Storage) => TokenStore.make(bucket, { storage, replica: "replica-1" })

const expectSecrets = (snapshot: { readonly state: typeof state | object }) => {
  const read = snapshot.state as Partial<typeof state>
  assert.strictEqual(read.token && Redacted.value(read.token.accessToken), ACCESS)
  assert.strictEqual(read.carry && Redacted.value(read.carry), JSON.stringify({ refreshToken: REFRESH }))
}

const expectNoSecretIn = (text: string) => {
  assert.notInclude(text, ACCESS)
  assert.notInclude(text, REFRESH)
}

describe("TokenStore sealing", () => {
  it.effect("KV holds neither the access token nor the carry in readable form, and they read back", () =>
    Effect.gen(function*() {
      const bucket = yield* bucketOf
      const store = storeOf(bucket, ringStorage(keyA))
      const written = yield* store.write(provider, state, undefined)
      const { value } = yield* raw(bucket)
      expectNoSecretIn(value)
      expectNoSecretIn(Buffer.from(value).toString("base64"))
      // The rest stays readable for audit: the fence, the version, the reason.
      const record = JSON.parse(value) as { token: { accessToken: string; version: number }; carry: string }
      assert.deepStrictEqual(JSON.parse(value).fence, state.fence)
      assert.strictEqual(record.token.version, written.token!.version)
      assert.strictEqual(sealedWith(record.token.accessToken), "key-a")
      assert.strictEqual(sealedWith(record.carry), "key-a")
      expectSecrets(yield* storeOf(bucket, ringStorage(keyA)).read(provider))
    }))

  it.effect("rotation: written with A, ring [B, A] writing B reads it and re-seals with B, then ring [B] reads", () =>
    Effect.gen(function*() {
      const bucket = yield* bucketOf
      yield* storeOf(bucket, ringStorage(keyA)).write(provider, state, undefined)
      const both = storeOf(bucket, ringStorage(keyB, keyA))
      const read = yield* both.read(provider)
      expectSecrets(read)
      // A new leader's fence: the audit line names the leader and term of the state written, not the store's replica.
      const takeover = { ...read.state, fence: { holder: "replica-2", term: 4 } }
      const { lines, value: resealedState } = yield* logged(both.write(provider, takeover, read.revision))
      const record = JSON.parse((yield* raw(bucket)).value) as { token: { accessToken: string }; carry: string }
      assert.strictEqual(sealedWith(record.token.accessToken), "key-b")
      assert.strictEqual(sealedWith(record.carry), "key-b")
      const resealed = lines.filter((line) => line.msg === "re-sealed the provider's state with the write key")
      assert.strictEqual(resealed.length, 1)
      assert.include(resealed[0], {
        level: 30,
        audit: true,
        event: "key-rotation",
        provider,
        reason: "resealed",
        version: resealedState.token!.version,
        replica: "replica-2",
        term: 4,
        oldKeyId: "key-a",
        newKeyId: "key-b"
      })
      // Written with B already: the next write is no re-seal.
      const again = yield* logged(both.write(provider, read.state, (yield* raw(bucket)).revision))
      assert.isFalse(again.lines.some((line) => line.msg.startsWith("re-sealed")))
      expectSecrets(yield* storeOf(bucket, ringStorage(keyB)).read(provider))
    }))

  it.effect("a key the ring lacks: read as an unreadable state (to be replaced), the key id logged, no secret", () =>
    Effect.gen(function*() {
      const bucket = yield* bucketOf
      const written = yield* storeOf(bucket, ringStorage(keyA)).write(provider, state, undefined)
      const { lines, value } = yield* logged(storeOf(bucket, ringStorage(keyB)).read(provider))
      assert.deepStrictEqual(value, { revision: written.revision, state: {}, token: undefined })
      const error = lines.find((line) => line.level === 50)
      assert.strictEqual(
        error?.msg,
        "the provider's state in KV is sealed with key key-a, which storage.keys does not hold; it will be replaced"
      )
      assert.include(error, { provider, keyId: "key-a" })
      expectNoSecretIn(JSON.stringify(lines))
    }))

  it.effect("an altered record, or one copied to another provider, does not open; the key id is logged", () =>
    Effect.gen(function*() {
      const bucket = yield* bucketOf
      yield* storeOf(bucket, ringStorage(keyA)).write(provider, state, undefined)
      const stored = yield* raw(bucket)
      const record = JSON.parse(stored.value) as { carry: string }
      const [format, id, iv, ciphertext, tag] = record.carry.split(".")
      const flipped = `${ciphertext!.startsWith("A") ? "B" : "A"}${ciphertext!.slice(1)}`
      const altered = JSON.stringify({ ...record, carry: [format, id, iv, flipped, tag].join(".") })
      yield* bucket.update(provider, altered, stored.revision)
      yield* bucket.create("other", stored.value)
      const store = storeOf(bucket, ringStorage(keyA))
      const message =
        "the provider's state in KV does not open with key key-a: altered, or another key under that id; " +
        "it will be replaced"
      for (const key of [provider, "other"]) {
        const { lines, value } = yield* logged(store.read(key))
        assert.isUndefined(value.token, key)
        assert.deepStrictEqual(value.state, {})
        assert.include(lines.find((line) => line.level === 50), { msg: message, provider: key, keyId: "key-a" })
        expectNoSecretIn(JSON.stringify(lines))
      }
    }))

  it.effect("a secret written in clear behind a sealed store's back is refused, the record read as unreadable", () =>
    Effect.gen(function*() {
      const bucket = yield* bucketOf
      const store = storeOf(bucket, ringStorage(keyA))
      const written = yield* store.write(provider, state, undefined)
      const sealed = JSON.parse((yield* raw(bucket)).value) as { token: Record<string, unknown>; carry: string }
      // Someone holding a replica's credential: their own token under a higher version and the current fence...
      const forgedToken = { ...sealed, token: { ...sealed.token, accessToken: ACCESS, version: 2 ** 52 } }
      // ...or the sealed token kept and a carry of their own, which the leader would mint with.
      const forgedCarry = { ...sealed, carry: JSON.stringify({ refreshToken: REFRESH }) }
      const cases = [["accessToken", forgedToken], ["carry", forgedCarry]] as const
      for (const [field, forged] of cases) {
        const revision = yield* bucket.update(provider, JSON.stringify(forged), (yield* raw(bucket)).revision)
        const { lines, value } = yield* logged(store.read(provider))
        assert.deepStrictEqual(value, { revision, state: {}, token: undefined }, field)
        assert.include(lines.find((line) => line.level === 50), {
          msg: `the provider's state in KV holds its ${field} in clear, which a storage with a write key does not ` +
            "read (anyone who may write the tokens bucket could have put it there; set storage.readClear only " +
            "while turning sealing on); it will be replaced",
          provider,
          revision,
          keyId: "clear"
        })
        expectNoSecretIn(JSON.stringify(lines))
      }
      // What the store refused, it did not remember: the next token's version does not jump to the forged one.
      const next = yield* store.write(provider, { token: { ...state.token } }, (yield* raw(bucket)).revision)
      assert.isBelow(next.token!.version, 2 ** 52)
      assert.isAbove(next.token!.version, written.token!.version)
    }))

  it.effect("a sealed access token copied under another version does not open", () =>
    Effect.gen(function*() {
      const bucket = yield* bucketOf
      const store = storeOf(bucket, ringStorage(keyA))
      const old = yield* store.write(provider, { token: state.token }, undefined)
      const oldRecord = JSON.parse((yield* raw(bucket)).value) as { token: { accessToken: string; version: number } }
      // An old revision's sealed token, written back from the history under a version above the current one.
      const current = yield* store.write(provider, { token: { ...state.token } }, old.revision)
      const replayed = { ...oldRecord, token: { ...oldRecord.token, version: current.token!.version + 1 } }
      const revision = yield* bucket.update(provider, JSON.stringify(replayed), current.revision!)
      const { lines, value } = yield* logged(store.read(provider))
      assert.deepStrictEqual(value, { revision, state: {}, token: undefined })
      assert.include(lines.find((line) => line.level === 50), {
        msg: "the provider's state in KV does not open with key key-a: altered, or another key under that id; " +
          "it will be replaced",
        keyId: "key-a"
      })
      // Under its own version, the same sealed value still opens.
      yield* bucket.update(provider, JSON.stringify(oldRecord), revision)
      assert.strictEqual((yield* store.read(provider)).token?.version, old.token!.version)
    }))

  it.effect("turning sealing on (readClear): a record written in clear still reads, and the next write seals it", () =>
    Effect.gen(function*() {
      const bucket = yield* bucketOf
      const clear = JSON.stringify({
        token: { accessToken: ACCESS, tokenType: "Bearer", issuedAt: 0, reason: "initial", version: 7 },
        carry: JSON.stringify({ refreshToken: REFRESH })
      })
      const revision = yield* bucket.create(provider, clear)
      const store = storeOf(bucket, { sealing: "sealed", ring: { write: keyA, keys: [keyA] }, readClear: true })
      const read = yield* store.read(provider)
      expectSecrets(read)
      assert.strictEqual(read.token?.version, 7)
      const { lines } = yield* logged(store.write(provider, read.state, revision))
      expectNoSecretIn((yield* raw(bucket)).value)
      // Written before any leader fenced it: an audit line still, its replica and term null.
      assert.include(lines.find((line) => line.msg.startsWith("re-sealed")), {
        audit: true,
        event: "key-rotation",
        version: 7,
        replica: null,
        term: null,
        oldKeyId: "clear",
        newKeyId: "key-a"
      })
      // Sealed now: a store without readClear reads it too.
      expectSecrets(yield* storeOf(bucket, ringStorage(keyA)).read(provider))
    }))

  it.effect("without keys, access tokens are stored in clear and a carry is not stored at all", () =>
    Effect.gen(function*() {
      const bucket = yield* bucketOf
      const store = storeOf(bucket, clearStorage)
      const { lines, value: written } = yield* logged(store.write(provider, state, undefined))
      assert.isUndefined(written.state.carry)
      const { value } = yield* raw(bucket)
      assert.include(value, ACCESS)
      assert.notInclude(value, REFRESH)
      assert.strictEqual(
        lines.find((line) => line.level === 50)?.msg,
        "a carry was not stored: storage has no write key to seal it with; add storage.keys and storage.writeKey"
      )
      assert.strictEqual(Redacted.value((yield* store.read(provider)).state.token!.accessToken), ACCESS)
    }))

  it.effect("without keys, a sealed record reads as unreadable, saying storage has no keys", () =>
    Effect.gen(function*() {
      const bucket = yield* bucketOf
      yield* storeOf(bucket, ringStorage(keyA)).write(provider, state, undefined)
      const { lines, value } = yield* logged(storeOf(bucket, clearStorage).read(provider))
      assert.isUndefined(value.token)
      assert.strictEqual(
        lines.find((line) => line.level === 50)?.msg,
        "the provider's state in KV is sealed with key key-a, and storage has no keys; it will be replaced"
      )
    }))

  it.effect("keys without a write key open what they sealed and write access tokens in clear", () =>
    Effect.gen(function*() {
      const bucket = yield* bucketOf
      yield* storeOf(bucket, ringStorage(keyA)).write(provider, { token: state.token }, undefined)
      const turningOff = storeOf(bucket, { sealing: "clear", keys: [keyA] })
      const read = yield* turningOff.read(provider)
      assert.strictEqual(Redacted.value(read.state.token!.accessToken), ACCESS)
      const { lines } = yield* logged(turningOff.write(provider, read.state, read.revision))
      assert.include((yield* raw(bucket)).value, ACCESS)
      assert.include(lines.find((line) => line.msg.startsWith("wrote the provider's state in clear")), {
        audit: true,
        event: "key-rotation",
        reason: "written-in-clear",
        oldKeyId: "key-a",
        newKeyId: "clear"
      })
    }))
})
