// `tokenbus get` verifies the token's signature. The whole command runs, its
// NATS client included, against a server whose replies the test writes
// (ScriptedNatsServer): with `--verify-key`, a token the cluster signed is
// shown as verified and one signed by another key (or not at all) fails the
// command; with `--config` and a `signing` section, the public half of its
// private key is used without the flag; without a key the token is shown
// with the signature not checked, saying why. A file that is not a public
// key fails, and the private key is never printed.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { afterAll, assert, describe, it } from "@effect/vitest"
import {
  generateSigningKeyPair,
  protocolVersion,
  type SigningKeyPair,
  signingKeyFromPem,
  signToken,
  Token,
  TokenReplyJson
} from "@tokenbus/core"
import { Cause, ConfigProvider, Console, Effect, Exit, Redacted, Result, Schema } from "effect"
import { Command } from "effect/cli"
import { get } from "../../src/cli/Cli.ts"
import { scriptedNatsServer } from "../support/ScriptedNatsServer.ts"

const dir = mkdtempSync(join(tmpdir(), "tokenbus-get-verify-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, content: string) => {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

const cluster = generateSigningKeyPair()
const stranger = generateSigningKeyPair()
const PRIVATE_KEY_ENV = "GET_TEST_SIGNING_KEY"
const prefix = "tb_get"

const token = new Token({
  provider: "project44",
  version: 7,
  accessToken: Redacted.make("access-token-of-the-test"),
  tokenType: "Bearer",
  issuedAt: 0,
  reason: "initial"
})

const encodeReply = Schema.encodeSync(TokenReplyJson)

/** A reply with the token, signed with `pair`'s private key, or unsigned. */
const replyFrom = (pair: SigningKeyPair | undefined): string => {
  if (pair === undefined) return encodeReply({ v: protocolVersion, ok: true, token })
  const signature = signToken(Result.getOrThrow(signingKeyFromPem(pair.privateKeyPem)), token)
  return encodeReply({ v: protocolVersion, ok: true, token, signature })
}

/** A configuration file whose `signing` reads the private key from `$GET_TEST_SIGNING_KEY`, or none. */
const configFile = (name: string, url: string, signing: boolean) =>
  file(name, JSON.stringify({
    nats: { servers: [url] },
    prefix,
    ...(signing ? { signing: { privateKey: { env: PRIVATE_KEY_ENV } } } : {}),
    providers: []
  }))

/** Runs `tokenbus get project44 <args>` against a server answering with `reply`; what it printed. */
const runGet = (reply: string, args: (url: string) => ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const subject = `${prefix}.token.project44.get`
    const server = yield* scriptedNatsServer((to) => (to === subject ? reply : undefined))
    const out: Array<string> = []
    const console: Console.Console = Object.assign(Object.create(globalThis.console), {
      log: (...parts: ReadonlyArray<unknown>) => void out.push(parts.join(" ")),
      error: (...parts: ReadonlyArray<unknown>) => void out.push(parts.join(" "))
    })
    const exit = yield* Command.runWith(get, { version: "test" })(["project44", ...args(server.url)]).pipe(
      Effect.provideService(Console.Console, console),
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })),
      Effect.provide(NodeServices.layer),
      Effect.exit
    )
    const failure = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    const output = out.join("\n")
    assert.notInclude(output, Redacted.value(cluster.privateKeyPem).split("\n")[1] ?? "", "the private key was printed")
    return { failure: failure as { readonly _tag?: string; readonly message?: string } | undefined, output }
  })

const shown = (output: string) => JSON.parse(output) as Record<string, unknown>

describe("tokenbus get --verify-key", () => {
  const publicKey = file("cluster.pem", cluster.publicKeyPem)
  const flags = (url: string) => ["--servers", url, "--prefix", prefix, "--verify-key", publicKey]

  it.live("shows a token the cluster signed as verified", () =>
    Effect.gen(function*() {
      const { failure, output } = yield* runGet(replyFrom(cluster), flags)
      assert.isUndefined(failure, String(failure?.message))
      assert.deepInclude(shown(output), { provider: "project44", version: 7, signature: "verified" })
    }))

  it.live("fails on a token signed by another key, or not signed, and shows none", () =>
    Effect.gen(function*() {
      for (const reply of [replyFrom(stranger), replyFrom(undefined)]) {
        const { failure, output } = yield* runGet(reply, flags)
        assert.strictEqual(failure?._tag, "UntrustedToken")
        assert.notInclude(output, "\"version\"")
      }
    }))

  it.live("refuses a file that is not a public key, naming it", () =>
    Effect.gen(function*() {
      const notAKey = file("not-a-key.pem", "hello")
      const privateKey = file("private.pem", Redacted.value(cluster.privateKeyPem))
      for (const [path, why] of [[notAKey, "not a public key"], [privateKey, "is a private key"]] as const) {
        const { failure } = yield* runGet(replyFrom(cluster), (url) => ["--servers", url, "--verify-key", path])
        assert.strictEqual(failure?._tag, "ConfigError")
        assert.include(failure?.message, `--verify-key ${path}: `)
        assert.include(failure?.message, why)
      }
    }))
})

describe("tokenbus get --config", () => {
  const env = { [PRIVATE_KEY_ENV]: Redacted.value(cluster.privateKeyPem) }

  it.live("verifies with the public half of the configuration's signing key, without --verify-key", () =>
    Effect.gen(function*() {
      const signed = yield* runGet(replyFrom(cluster), (url) => ["--config", configFile("a.json", url, true)], env)
      assert.isUndefined(signed.failure, String(signed.failure?.message))
      assert.strictEqual(shown(signed.output)["signature"], "verified")
      const forged = yield* runGet(replyFrom(stranger), (url) => ["--config", configFile("b.json", url, true)], env)
      assert.strictEqual(forged.failure?._tag, "UntrustedToken")
    }))

  it.live("without the private key at hand, or a signing section, shows the token unchecked, saying why", () =>
    Effect.gen(function*() {
      const absent = yield* runGet(replyFrom(stranger), (url) => ["--config", configFile("c.json", url, true)])
      assert.isUndefined(absent.failure, String(absent.failure?.message))
      assert.strictEqual(
        shown(absent.output)["signature"],
        `not checked: signing.privateKey: environment variable ${PRIVATE_KEY_ENV} is not set; pass --verify-key`
      )
      const path = configFile("d.json", "", false)
      const unsigned = yield* runGet(replyFrom(undefined), (url) => ["--config", configFile("d.json", url, false)])
      assert.strictEqual(
        shown(unsigned.output)["signature"],
        `not checked: no --verify-key given, and ${path} has no signing section`
      )
    }))

  it.live("--verify-key wins over the configuration's key", () =>
    Effect.gen(function*() {
      const strangerKey = file("stranger.pem", stranger.publicKeyPem)
      const { failure, output } = yield* runGet(
        replyFrom(stranger),
        (url) => ["--config", configFile("e.json", url, true), "--verify-key", strangerKey],
        env
      )
      assert.isUndefined(failure, String(failure?.message))
      assert.strictEqual(shown(output)["signature"], "verified")
    }))
})
