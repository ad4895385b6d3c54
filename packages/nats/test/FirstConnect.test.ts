// The wait for a first connection (`waitOnFirstConnect`) says why it waits,
// and stops on what waiting cannot fix. Through the real NatsConnection and
// nats.js: a server whose certificate the client does not trust ends the
// wait at the second refused round, after a warning naming the server and
// the TLS problem (the same server connects once its certificate is
// trusted); so does a refused credential; a server that drops every
// connection is waited for, with one warning, not one per attempt. Under
// TestClock, with dials the test scripts: the warnings keep a bounded rate
// and count the attempts between them, and a refusal that is not repeated
// in the next round does not end the wait.
import { assert, describe, it } from "@effect/vitest"
import { AuthorizationError, ConnectionError, TimeoutError } from "@nats-io/transport-node"
import { Cause, Effect, Exit, Fiber, Layer, Logger, References } from "effect"
import { TestClock } from "effect/testing"
import { firstConnectWait, waitForFirstConnect } from "../src/internal/FirstConnect.ts"
import { NatsConnection, type NatsConnectionOptions } from "../src/NatsConnection.ts"
import { NatsConnectError } from "../src/NatsError.ts"
import { droppingServer } from "./support/DroppingServer.ts"
import { refusingNatsServer } from "./support/RefusingNatsServer.ts"
import { tlsNatsServer } from "./support/TlsNatsServer.ts"

interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** Runs `effect` with its log lines, and those of the fibers it forks, kept in `lines`. */
const logged = <A, E, R>(lines: Array<Line>, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provide(Logger.layer([
    Logger.make(({ fiber, logLevel, message }) => {
      const annotations = { ...fiber.getRef(References.CurrentLogAnnotations) }
      lines.push({ level: logLevel, message: (Array.isArray(message) ? message : [message]).join(" "), annotations })
    })
  ])))

const warnings = (lines: ReadonlyArray<Line>) => lines.filter((line) => line.level === "Warn")

/** The first connection of `options`, waiting for it. */
const connectWaiting = (options: Omit<NatsConnectionOptions, "name" | "waitOnFirstConnect">) =>
  Effect.scoped(Layer.build(NatsConnection.layer({ name: "wait-test", waitOnFirstConnect: true, ...options })))

describe("waiting for the first connection, against a server", () => {
  it.live("whose certificate the client does not trust: a warning naming the server and why, then it stops", () => {
    const lines: Array<Line> = []
    return logged(lines, Effect.gen(function*() {
      const server = yield* tlsNatsServer
      const error = yield* Effect.flip(connectWaiting({ servers: [server.url], tls: {} }))
      assert.strictEqual(error._tag, "NatsConnectError")
      assert.strictEqual(error.message.split(": TLS failed (")[0], `cannot connect to NATS at ${server.url}`)
      assert.match(error.message, /: TLS failed \(.*certificate.*\): check nats\.tls$/)
      assert.strictEqual(server.accepted(), 2, "it stops at the second refused round")
      const [warning, ...more] = warnings(lines)
      assert.deepStrictEqual(more, [])
      assert.strictEqual(warning?.message, "cannot connect to NATS yet; still trying")
      assert.strictEqual(warning?.annotations["servers"], server.url)
      assert.match(String(warning?.annotations["error"]), /TLS failed \(.*certificate.*\): check nats\.tls/)
    }))
  })

  it.live("whose certificate the client trusts (caFile): it connects", () =>
    Effect.gen(function*() {
      const server = yield* tlsNatsServer
      const exit = yield* Effect.exit(connectWaiting({ servers: [server.url], tls: { caFile: server.certFile } }))
      assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")
      assert.strictEqual(server.accepted(), 1)
    }))

  it.live("that refuses the credential: it stops at the second refused round, saying so", () =>
    Effect.gen(function*() {
      const server = yield* refusingNatsServer
      const error = yield* Effect.flip(connectWaiting({ servers: [server.url] }))
      assert.match(error.message, /the server asks for credentials and none were given \(authorization violation\)/)
      assert.strictEqual(server.connects().length, 2)
    }))

  it.live("that drops every connection: it keeps waiting, with one warning for many attempts", () => {
    const lines: Array<Line> = []
    return logged(lines, Effect.gen(function*() {
      const server = yield* droppingServer
      const fiber = yield* Effect.forkChild(connectWaiting({ servers: [server.url] }))
      while (server.accepted() < 4) yield* Effect.sleep(50)
      assert.isUndefined(fiber.pollUnsafe(), "the wait ended")
      const [warning, ...more] = warnings(lines)
      assert.deepStrictEqual(more, [], "more than one warning within the interval")
      assert.strictEqual(warning?.annotations["servers"], server.url)
      assert.include(String(warning?.annotations["error"]), `cannot connect to NATS at ${server.url}`)
      yield* Fiber.interrupt(fiber)
    }))
  })
})

/** A dial that fails as `script` says for each round (1-based), and succeeds when it returns undefined. */
const scriptedDial = (script: (round: number) => unknown) => {
  let rounds = 0
  const dial = Effect.suspend(() => {
    const cause = script(++rounds)
    if (cause === undefined) return Effect.succeed("connected")
    const message = `cannot connect to NATS at nats://a:4222: ${cause instanceof Error ? cause.message : String(cause)}`
    return Effect.fail(new NatsConnectError({ servers: ["nats://a:4222"], message, cause }))
  })
  return { dial, rounds: () => rounds }
}

const refusedCertificate = () =>
  Object.assign(new Error("unable to verify the first certificate"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" })

describe("waitForFirstConnect, under TestClock", () => {
  it.effect("warns at once, then at most once per interval with the attempts failed since, until it connects", () => {
    const lines: Array<Line> = []
    return logged(lines, Effect.gen(function*() {
      const every = firstConnectWait.logEveryMillis
      const refused = new ConnectionError("connection refused")
      const { dial, rounds } = scriptedDial((round) => (round <= 400 ? refused : undefined))
      const fiber = yield* Effect.forkChild(waitForFirstConnect(dial))
      // 400 failed rounds, 250 ms apart: 99.75 s.
      for (let passed = 0; passed < 100_000; passed += 250) {
        yield* TestClock.adjust(250)
        yield* Effect.yieldNow
      }
      assert.strictEqual(yield* Fiber.join(fiber), "connected")
      assert.strictEqual(rounds(), 401)
      const counts = warnings(lines).map((line) => line.annotations["failedAttempts"])
      assert.deepStrictEqual(counts, [1, every / 250, every / 250, every / 250])
      assert.strictEqual(lines.at(-1)?.message, "connected to NATS after waiting for it")
    }))
  })

  it.effect("a refusal ends the wait only when the next round is refused too", () =>
    Effect.gen(function*() {
      // Refused, timed out, refused, connected: never twice in a row.
      const causes = [refusedCertificate(), new TimeoutError(), new AuthorizationError("Authorization Violation")]
      const { dial, rounds } = scriptedDial((round) => causes[round - 1])
      const fiber = yield* Effect.forkChild(waitForFirstConnect(dial))
      yield* TestClock.adjust(1_000)
      assert.strictEqual(yield* Fiber.join(fiber), "connected")
      assert.strictEqual(rounds(), 4)

      const twice = scriptedDial(() => refusedCertificate())
      const refusing = yield* Effect.forkChild(Effect.flip(waitForFirstConnect(twice.dial)))
      yield* TestClock.adjust(1_000)
      const error = yield* Fiber.join(refusing)
      assert.strictEqual(twice.rounds(), 2)
      assert.include(error.message, "unable to verify the first certificate")
    }))
})
