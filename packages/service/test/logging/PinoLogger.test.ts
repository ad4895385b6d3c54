import fs from "node:fs"
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { Cause, Effect, Logger, Redacted, References } from "effect"
import * as PinoLogger from "../../src/logging/PinoLogger.ts"
import { UpstreamError } from "../../src/upstream/UpstreamError.ts"

const SECRET = "tok_9d8f7e6a5b4c3d2e1f"

/** An in-memory pino destination: every write is one JSON line. */
const memory = () => {
  const lines: Array<string> = []
  return {
    lines,
    destination: { write: (line: string) => void lines.push(line) },
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  }
}

/** Runs `effect` with a PinoLogger writing to memory as the only logger, every level enabled. */
const logged = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const sink = memory()
    yield* effect.pipe(
      Effect.provide(Logger.layer([PinoLogger.make(sink.destination)])),
      Effect.provideService(References.MinimumLogLevel, "All")
    )
    for (const line of sink.lines) expect(line).not.toContain(SECRET)
    return sink
  })

describe("PinoLogger.make", () => {
  it.effect("writes one JSON line per entry with level, msg and pid", () =>
    Effect.gen(function*() {
      const sink = yield* logged(Effect.logInfo("minted a token", "for", "project44"))
      expect(sink.lines).toHaveLength(1)
      expect(sink.lines[0]?.endsWith("\n")).toBe(true)
      expect(sink.lines[0]?.trimEnd()).not.toContain("\n")
      const [entry] = sink.entries()
      expect(entry).toMatchObject({ level: 30, msg: "minted a token for project44", pid: process.pid })
      expect(typeof entry?.["time"]).toBe("number")
    }))

  it.effect("maps Effect's log levels to pino's", () =>
    Effect.gen(function*() {
      const sink = yield* logged(Effect.gen(function*() {
        yield* Effect.logTrace("t")
        yield* Effect.logDebug("d")
        yield* Effect.logInfo("i")
        yield* Effect.logWarning("w")
        yield* Effect.logError("e")
        yield* Effect.logFatal("f")
      }))
      expect(sink.entries().map((entry) => [entry["msg"], entry["level"]])).toEqual([
        ["t", 10],
        ["d", 20],
        ["i", 30],
        ["w", 40],
        ["e", 50],
        ["f", 60]
      ])
    }))

  it.effect("writes the fiber's log annotations as fields", () =>
    Effect.gen(function*() {
      const sink = yield* logged(
        Effect.logInfo("leader elected").pipe(
          Effect.annotateLogs({ provider: "project44-eu", replica: "r-2", version: 7, flags: { leader: true } })
        )
      )
      const [entry] = sink.entries()
      expect(entry).toMatchObject({
        msg: "leader elected",
        provider: "project44-eu",
        replica: "r-2",
        version: 7,
        flags: { leader: true }
      })
    }))

  it.effect("formats non-string message parts as JSON", () =>
    Effect.gen(function*() {
      const sink = yield* logged(Effect.logInfo("state", { tokens: 2, ok: true }, 42, null))
      expect(sink.entries()[0]?.["msg"]).toBe(`state {"tokens":2,"ok":true} 42 null`)
    }))

  it.effect("prints a Redacted message part as <redacted>", () =>
    Effect.gen(function*() {
      const sink = yield* logged(Effect.logInfo("minted", Redacted.make(SECRET)))
      expect(sink.entries()[0]?.["msg"]).toBe("minted <redacted>")
    }))

  it.effect("prints a Redacted nested in a message part as <redacted>", () =>
    Effect.gen(function*() {
      const sink = yield* logged(Effect.logInfo("token", { accessToken: Redacted.make(SECRET), tokenType: "Bearer" }))
      expect(sink.entries()[0]?.["msg"]).toBe(`token {"accessToken":"<redacted>","tokenType":"Bearer"}`)
    }))

  it.effect("prints a Redacted annotation as <redacted>, also nested", () =>
    Effect.gen(function*() {
      const sink = yield* logged(
        Effect.logWarning("careful").pipe(
          Effect.annotateLogs({ token: Redacted.make(SECRET), upstream: { secret: Redacted.make(SECRET) } })
        )
      )
      const [entry] = sink.entries()
      expect(entry).toMatchObject({ msg: "careful", token: "<redacted>", upstream: { secret: "<redacted>" } })
    }))

  it.effect("adds a failure cause as `cause` text", () =>
    Effect.gen(function*() {
      const sink = yield* logged(
        Effect.fail(new UpstreamError({ provider: "project44-eu", kind: "transient", message: "token endpoint answered 503" })).pipe(
          Effect.tapCause((cause) => Effect.logError("mint failed", cause)),
          Effect.ignore
        )
      )
      const [entry] = sink.entries()
      expect(entry?.["msg"]).toBe("mint failed")
      expect(entry?.["level"]).toBe(50)
      expect(typeof entry?.["cause"]).toBe("string")
      expect(entry?.["cause"]).toContain("UpstreamError")
      expect(entry?.["cause"]).toContain("token endpoint answered 503")
    }))

  it.effect("includes a defect's message in `cause`", () =>
    Effect.gen(function*() {
      const sink = yield* logged(Effect.logError("crashed", Cause.die(new Error("boom in leader loop"))))
      expect(sink.entries()[0]?.["cause"]).toContain("boom in leader loop")
    }))

  it.effect("redacts a Redacted failure inside the cause", () =>
    Effect.gen(function*() {
      const sink = yield* logged(
        Effect.fail(Redacted.make(SECRET)).pipe(
          Effect.tapCause((cause) => Effect.logError("failed", cause)),
          Effect.ignore
        )
      )
      expect(sink.entries()[0]?.["cause"]).toContain("<redacted>")
    }))

  it.effect("has no `cause` field when there is no cause", () =>
    Effect.gen(function*() {
      const sink = yield* logged(Effect.logError("plain"))
      expect(sink.entries()[0]).not.toHaveProperty("cause")
    }))
})

describe("PinoLogger.layer", () => {
  // pino.destination({ sync: true }) writes to fd 1 with fs.writeSync (sonic-boom).
  const stdoutLines = () => {
    const lines: Array<string> = []
    const writeSync = fs.writeSync
    vi.spyOn(fs, "writeSync").mockImplementation(((fd: number, data: unknown, ...rest: Array<unknown>) => {
      if (fd !== 1) return (writeSync as (...args: Array<unknown>) => number)(fd, data, ...rest)
      const text = typeof data === "string" ? data : Buffer.from(data as Uint8Array).toString("utf8")
      lines.push(...text.split("\n").filter((line) => line.length > 0))
      return Buffer.byteLength(text)
    }) as typeof fs.writeSync)
    return lines
  }

  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.effect("replaces the default logger with pino on stdout, Info and above by default", () =>
    Effect.gen(function*() {
      const lines = stdoutLines()
      yield* Effect.gen(function*() {
        yield* Effect.logDebug("hidden debug")
        yield* Effect.logInfo("shown info", Redacted.make(SECRET))
      }).pipe(Effect.provide(PinoLogger.layer()))
      vi.restoreAllMocks()
      expect(lines.map((line) => JSON.parse(line))).toMatchObject([{ level: 30, msg: "shown info <redacted>" }])
      expect(lines.join("\n")).not.toContain(SECRET)
    }))

  it.effect(`layer("Warn") drops info lines`, () =>
    Effect.gen(function*() {
      const lines = stdoutLines()
      yield* Effect.gen(function*() {
        yield* Effect.logInfo("dropped info")
        yield* Effect.logWarning("kept warning")
        yield* Effect.logError("kept error")
      }).pipe(Effect.provide(PinoLogger.layer("Warn")))
      vi.restoreAllMocks()
      expect(lines.map((line) => JSON.parse(line))).toMatchObject([
        { level: 40, msg: "kept warning" },
        { level: 50, msg: "kept error" }
      ])
    }))

  it.effect(`layer("Warn") sets MinimumLogLevel, which also filters other loggers`, () =>
    Effect.gen(function*() {
      const sink = memory()
      yield* Effect.gen(function*() {
        expect(yield* References.MinimumLogLevel).toBe("Warn")
        yield* Effect.logInfo("dropped info")
        yield* Effect.logWarning("kept warning")
      }).pipe(
        Effect.provide(Logger.layer([PinoLogger.make(sink.destination)])),
        Effect.provide(PinoLogger.layer("Warn"))
      )
      expect(sink.entries().map((entry) => entry["msg"])).toEqual(["kept warning"])
    }))
})
