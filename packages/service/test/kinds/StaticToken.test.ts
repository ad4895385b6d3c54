import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Fiber, Option, Redacted, Schema, Stream } from "effect"
import { StaticToken, StaticTokenConfig } from "../../src/kinds/static/StaticToken.ts"
import { minterOver } from "../support/MinterOver.ts"
import { scriptedClient } from "../support/ScriptedHttpClient.ts"
import { upstreamErrorCheck } from "../support/UpstreamChecks.ts"

const FIRST = "static-token-first-4f1c"
const SECOND = "static-token-second-9a2e"

const tempDir = mkdtempSync(join(tmpdir(), "tokenbus-static-test-"))
afterAll(() => rmSync(tempDir, { recursive: true, force: true }))

let files = 0
/** A fresh path in the temp directory, with `content` written to it unless undefined. */
const tokenFile = (content: string | undefined): string => {
  const path = join(tempDir, `token-${files++}`)
  if (content !== undefined) writeFileSync(path, content)
  return path
}

/** How editors save: write a new file, then rename it over the old one. */
const replaceFile = (path: string, content: string): void => {
  const temp = `${path}.swp`
  writeFileSync(temp, content)
  renameSync(temp, path)
}

const fileConfig = (file: string, pollMillis = 20): StaticTokenConfig => ({
  id: "static-test",
  kind: "static",
  token: { file },
  pollMillis
})

const envConfig = (env: string): StaticTokenConfig => ({ id: "static-test", kind: "static", token: { env }, pollMillis: 20 })

/** A static token is read, never fetched: its minter gets a client that records any request made through it. */
const http = scriptedClient(() => new Response(null, { status: 500 }))
const minterFor = (config: StaticTokenConfig) => minterOver(http.layer)(StaticToken.minter(config))

const withEnv = (env: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

const expectUpstreamError = upstreamErrorCheck("static-test", [FIRST, SECOND])

/** Runs `changes` in the background and counts what it emits. */
const countChanges = (stream: Stream.Stream<void>) =>
  Effect.gen(function*() {
    let count = 0
    const fiber = yield* stream.pipe(Stream.runForEach(() => Effect.sync(() => void (count += 1))), Effect.forkScoped)
    return { count: () => count, fiber }
  })

/** Waits until `condition` holds, polling every 10 ms, for at most two seconds. */
const eventually = (condition: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200 && !condition(); i++) yield* Effect.sleep("10 millis")
    expect(condition()).toBe(true)
  })

describe("StaticToken.make", () => {
  it.effect("returns the environment variable's token, with no expiry and no carry", () =>
    Effect.gen(function*() {
      const token = yield* minterFor(envConfig("STATIC_TOKEN")).mint({ carry: undefined }).pipe(
        withEnv({ STATIC_TOKEN: FIRST })
      )
      expect(Redacted.value(token.accessToken)).toBe(FIRST)
      expect(token).toMatchObject({ tokenType: "Bearer", expiresInSeconds: undefined })
      expect(token.carry).toBeUndefined()
    }))

  it.effect("a missing or empty variable is credentials-rejected", () =>
    Effect.gen(function*() {
      const minter = minterFor(envConfig("STATIC_TOKEN"))
      const missing = expectUpstreamError(yield* minter.mint({ carry: undefined }).pipe(withEnv({}), Effect.flip))
      expect(missing.kind).toBe("credentials-rejected")
      expect(missing.message).toContain("environment variable STATIC_TOKEN is not set")
      const blank = minter.mint({ carry: undefined }).pipe(withEnv({ STATIC_TOKEN: " " }), Effect.flip)
      const empty = expectUpstreamError(yield* blank)
      expect(empty.kind).toBe("credentials-rejected")
    }))

  it.live("re-reads the file on every mint, trimmed", () =>
    Effect.gen(function*() {
      const file = tokenFile(`${FIRST}\n`)
      const minter = minterFor(fileConfig(file))
      expect(Redacted.value((yield* minter.mint({ carry: undefined })).accessToken)).toBe(FIRST)
      replaceFile(file, `${SECOND}\n`)
      expect(Redacted.value((yield* minter.mint({ carry: undefined })).accessToken)).toBe(SECOND)
      expect(http.sent).toEqual([])
    }))

  it.live("a missing or empty file is transient, and the message names the file", () =>
    Effect.gen(function*() {
      const file = tokenFile(undefined)
      const minter = minterFor(fileConfig(file))
      const missing = expectUpstreamError(yield* minter.mint({ carry: undefined }).pipe(Effect.flip))
      expect(missing.kind).toBe("transient")
      expect(missing.message).toContain(file)
      writeFileSync(file, "\n")
      const empty = expectUpstreamError(yield* minter.mint({ carry: undefined }).pipe(Effect.flip))
      expect(empty.kind).toBe("transient")
      expect(empty.message).toContain("is empty")
    }))
})

describe("StaticToken.changes", () => {
  it.live("emits once per content change, however the file is replaced", () =>
    Effect.gen(function*() {
      const file = tokenFile(FIRST)
      const changes = yield* countChanges(StaticToken.watch(fileConfig(file)))
      yield* Effect.sleep("100 millis")
      expect(changes.count()).toBe(0)

      replaceFile(file, SECOND)
      yield* eventually(() => changes.count() === 1)
      writeFileSync(file, FIRST)
      yield* eventually(() => changes.count() === 2)
    }))

  it.live("ignores rewrites with the same token and a file briefly missing or empty", () =>
    Effect.gen(function*() {
      const file = tokenFile(FIRST)
      const changes = yield* countChanges(StaticToken.watch(fileConfig(file)))
      yield* Effect.sleep("60 millis")
      writeFileSync(file, `${FIRST}\n`)
      yield* Effect.sleep("60 millis")
      unlinkSync(file)
      yield* Effect.sleep("60 millis")
      writeFileSync(file, "")
      yield* Effect.sleep("60 millis")
      writeFileSync(file, FIRST)
      yield* Effect.sleep("100 millis")
      expect(changes.count()).toBe(0)
    }))

  it.live("with the token the caller holds, a file that already differs emits at once", () =>
    Effect.gen(function*() {
      const file = tokenFile(SECOND)
      const stale = yield* countChanges(StaticToken.watch(fileConfig(file, 60_000), Redacted.make(FIRST)))
      const current = yield* countChanges(StaticToken.watch(fileConfig(file, 60_000), Redacted.make(SECOND)))
      yield* eventually(() => stale.count() === 1)
      expect(current.count()).toBe(0)
    }))

  it.live("a file missing at first emits when it appears", () =>
    Effect.gen(function*() {
      const file = tokenFile(undefined)
      const changes = yield* countChanges(StaticToken.watch(fileConfig(file)))
      yield* Effect.sleep("60 millis")
      replaceFile(file, FIRST)
      yield* eventually(() => changes.count() === 1)
    }))

  it.live("an environment variable never changes: the stream stays silent", () =>
    Effect.gen(function*() {
      const first = yield* StaticToken.watch(envConfig("STATIC_TOKEN")).pipe(
        Stream.runHead,
        Effect.timeoutOption("100 millis")
      )
      expect(Option.isNone(first)).toBe(true)
    }))

  it.live("stops polling when interrupted", () =>
    Effect.gen(function*() {
      const file = tokenFile(FIRST)
      const changes = yield* countChanges(StaticToken.watch(fileConfig(file)))
      yield* Fiber.interrupt(changes.fiber)
      replaceFile(file, SECOND)
      yield* Effect.sleep("100 millis")
      expect(changes.count()).toBe(0)
    }))
})

describe("StaticTokenConfig", () => {
  const decode = Schema.decodeUnknownExit(StaticTokenConfig)

  it("takes an env or file reference, never a literal token", () => {
    const fromFile = decode({ id: "static", kind: "static", token: { file: "/run/secrets/token" } })
    expect(Exit.isSuccess(fromFile) && fromFile.value).toEqual({
      id: "static",
      kind: "static",
      token: { file: "/run/secrets/token" },
      pollMillis: 1_000
    })
    expect(Exit.isSuccess(decode({ id: "static", kind: "static", token: { env: "TOKEN" } }))).toBe(true)
    expect(Exit.isFailure(decode({ id: "static", kind: "static", token: "literal-token" }))).toBe(true)
  })
})
