// `tokenbus get` opens a token the cluster sealed on the bus. The whole
// command runs, its NATS client included, against a server whose replies the
// test writes (ScriptedNatsServer), the token sealed with a bus key: with
// `--bus-key id=file`, or `--config` with a `bus` section, the token is shown
// (its access token the one sealed, with --reveal) and its signature
// verified; without a key, or with another key under that id, the command
// fails with UnsealableToken saying which flag to pass. A file that holds no
// key, or a configuration key that cannot be read, fails naming the setting.
// No key is ever printed.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { afterAll, assert, describe, it } from "@effect/vitest"
import {
  generateSigningKeyPair,
  protocolVersion,
  sealingKeyFromBase64,
  sealToken,
  signingKeyFromPem,
  signToken,
  Token,
  TokenReplyJson
} from "@tokenbus/core"
import { Cause, ConfigProvider, Console, Effect, Exit, Redacted, Result, Schema } from "effect"
import { Command } from "effect/cli"
import { get } from "../../src/cli/Cli.ts"
import { scriptedNatsServer } from "../support/ScriptedNatsServer.ts"

const dir = mkdtempSync(join(tmpdir(), "tokenbus-get-bus-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, content: string) => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

const prefix = "tb_get_bus"
const ACCESS_TOKEN = "access-token-sealed-on-the-bus"
const BUS_KEY_ENV = "GET_TEST_BUS_KEY"
const busKey = randomBytes(32).toString("base64")
const otherKey = randomBytes(32).toString("base64")
const cluster = generateSigningKeyPair()

const token = new Token({
  provider: "project44",
  version: 9,
  accessToken: Redacted.make(ACCESS_TOKEN),
  tokenType: "Bearer",
  issuedAt: 0,
  reason: "initial"
})

/** The reply a sealing cluster sends: the token sealed with `bus-1`, signed in clear. */
const sealedReply = (() => {
  const key = Result.getOrThrow(sealingKeyFromBase64("bus-1", Redacted.make(busKey)))
  const sealed = Result.getOrThrow(sealToken(key, randomBytes(12), token))
  const signature = signToken(Result.getOrThrow(signingKeyFromPem(cluster.privateKeyPem)), token)
  return Schema.encodeSync(TokenReplyJson)({ v: protocolVersion, ok: true, token: sealed, signature })
})()

const verifyKey = file("cluster.pem", cluster.publicKeyPem)
const keyFile = file("bus-1.key", `${busKey}\n`)

/** Runs `tokenbus get project44 --reveal <args>` against a server answering with the sealed reply. */
const runGet = (args: (url: string) => ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const subject = `${prefix}.token.project44.get`
    const server = yield* scriptedNatsServer((to) => (to === subject ? sealedReply : undefined))
    const out: Array<string> = []
    const console: Console.Console = Object.assign(Object.create(globalThis.console), {
      log: (...parts: ReadonlyArray<unknown>) => void out.push(parts.join(" ")),
      error: (...parts: ReadonlyArray<unknown>) => void out.push(parts.join(" "))
    })
    const argv = ["project44", "--reveal", "--verify-key", verifyKey, ...args(server.url)]
    const exit = yield* Command.runWith(get, { version: "test" })(argv).pipe(
      Effect.provideService(Console.Console, console),
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })),
      Effect.provide(NodeServices.layer),
      Effect.exit
    )
    const failure = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    const output = out.join("\n")
    assert.notInclude(output, busKey, "the bus key was printed")
    assert.notInclude(String((failure as Error | undefined)?.message), busKey, "the bus key is in the error")
    return { failure: failure as { readonly _tag?: string; readonly message?: string } | undefined, output }
  })

const shown = (output: string) => JSON.parse(output) as Record<string, unknown>
const direct = (url: string) => ["--servers", url, "--prefix", prefix]

/** A configuration file whose `bus` reads `bus-1` from `$GET_TEST_BUS_KEY`. */
const configFile = (name: string, url: string) =>
  file(name, JSON.stringify({
    nats: { servers: [url] },
    prefix,
    bus: { keys: [{ id: "bus-1", key: { env: BUS_KEY_ENV } }] },
    providers: []
  }))

describe("tokenbus get on a cluster that seals the bus", () => {
  it.live("--bus-key id=file opens the token, and its signature verifies", () =>
    Effect.gen(function*() {
      const { failure, output } = yield* runGet((url) => [...direct(url), "--bus-key", `bus-1=${keyFile}`])
      assert.isUndefined(failure, String(failure?.message))
      assert.deepInclude(shown(output), { version: 9, accessToken: ACCESS_TOKEN, signature: "verified" })
    }))

  it.live("--config with a bus section opens it without the flag", () =>
    Effect.gen(function*() {
      const { failure, output } = yield* runGet((url) => ["--config", configFile("a.json", url)], {
        [BUS_KEY_ENV]: busKey
      })
      assert.isUndefined(failure, String(failure?.message))
      assert.deepInclude(shown(output), { version: 9, accessToken: ACCESS_TOKEN, signature: "verified" })
    }))

  it.live("without a key, or with another key under its id, fails with UnsealableToken naming the flag", () =>
    Effect.gen(function*() {
      const none = yield* runGet(direct)
      assert.strictEqual(none.failure?._tag, "UnsealableToken")
      assert.include(none.failure?.message, "pass --bus-key <id>=<file>")
      assert.notInclude(none.output, ACCESS_TOKEN)
      const other = file("other.key", otherKey)
      const wrong = yield* runGet((url) => [...direct(url), "--bus-key", `bus-1=${other}`])
      assert.strictEqual(wrong.failure?._tag, "UnsealableToken")
      assert.notInclude(wrong.output, ACCESS_TOKEN)
    }))

  it.live("refuses a key file that holds no key, and a configuration key that cannot be read, naming them", () =>
    Effect.gen(function*() {
      const notAKey = file("short.key", randomBytes(16).toString("base64"))
      const flag = yield* runGet((url) => [...direct(url), "--bus-key", `bus-1=${notAKey}`])
      assert.strictEqual(flag.failure?._tag, "ConfigError")
      assert.include(flag.failure?.message, `--bus-key bus-1=${notAKey}: key bus-1 is 16 bytes`)
      const unset = yield* runGet((url) => ["--config", configFile("b.json", url)])
      assert.strictEqual(unset.failure?._tag, "ConfigError")
      assert.include(unset.failure?.message, "bus.keys[0].key: ")
      assert.include(unset.failure?.message, "pass --bus-key bus-1=<file>")
    }))
})
