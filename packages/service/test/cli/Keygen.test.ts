// `tokenbus keygen` makes a cluster's signing key pair: the private key in a
// new file only its owner can read (never printed), the public key in a file
// or on stdout, the two halves of one Ed25519 key, in the forms the service
// (signing.privateKey) and the client (verifyKey) read. It never overwrites
// a file: a key in use must not be lost to a second run.
import { createPrivateKey, createPublicKey } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { generateSigningKeyPair, signingKeyFromPem, signToken, Token, verifyKeyFromPem, verifyToken } from "@tokenbus/core"
import { Console, Effect, Exit, Redacted, Result } from "effect"
import { Command } from "effect/cli"
import { keygen } from "../../src/cli/KeygenCommand.ts"

const dir = mkdtempSync(join(tmpdir(), "tokenbus-keygen-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs `tokenbus keygen <args>`; what it printed on stdout and stderr. */
const run = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const console: Console.Console = Object.assign(Object.create(globalThis.console), {
      log: (...parts: ReadonlyArray<unknown>) => void out.push(parts.join(" ")),
      error: (...parts: ReadonlyArray<unknown>) => void err.push(parts.join(" "))
    })
    const exit = yield* Command.runWith(keygen, { version: "test" })(args).pipe(
      Effect.provideService(Console.Console, console),
      Effect.provide(NodeServices.layer),
      Effect.exit
    )
    return { exit, stdout: out.join("\n"), stderr: err.join("\n") }
  })

const token = new Token({
  provider: "project44",
  version: 1,
  accessToken: Redacted.make("t"),
  tokenType: "Bearer",
  issuedAt: 0,
  reason: "initial"
})

/** The two halves verify each other's signatures, read as the service and the client read them. */
const assertPair = (privatePem: string, publicPem: string) => {
  const signing = Result.getOrThrow(signingKeyFromPem(Redacted.make(privatePem)))
  const verifying = Result.getOrThrow(verifyKeyFromPem(publicPem))
  assert.isTrue(verifyToken([verifying], token, signToken(signing, token)))
  assert.strictEqual(createPublicKey(createPrivateKey(privatePem)).export({ type: "spki", format: "pem" }), publicPem)
}

describe("tokenbus keygen", () => {
  it.effect("writes the private key with mode 0600 and the public key to its own file", () =>
    Effect.gen(function*() {
      const privateFile = join(dir, "a-signing.pem")
      const publicFile = join(dir, "a-verify.pem")
      const { exit, stdout, stderr } = yield* run(["--private-key", privateFile, "--public-key", publicFile])
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(statSync(privateFile).mode & 0o777, 0o600)
      const privatePem = readFileSync(privateFile, "utf8")
      assertPair(privatePem, readFileSync(publicFile, "utf8"))
      assert.notInclude(stdout + stderr, privatePem.split("\n")[1]!)
      assert.include(stderr, privateFile)
    }))

  it.effect("prints the public key when given no file for it, and never the private one", () =>
    Effect.gen(function*() {
      const privateFile = join(dir, "b-signing.pem")
      const { exit, stdout, stderr } = yield* run(["--private-key", privateFile])
      assert.isTrue(Exit.isSuccess(exit))
      const privatePem = readFileSync(privateFile, "utf8")
      assertPair(privatePem, `${stdout}\n`)
      assert.notInclude(stdout + stderr, privatePem.split("\n")[1]!)
    }))

  it.effect("refuses to overwrite an existing file, leaving it as it was", () =>
    Effect.gen(function*() {
      const privateFile = join(dir, "c-signing.pem")
      const inUse = Redacted.value(generateSigningKeyPair().privateKeyPem)
      writeFileSync(privateFile, inUse, { mode: 0o600 })
      const { exit } = yield* run(["--private-key", privateFile])
      assert.isTrue(Exit.isFailure(exit))
      assert.include(JSON.stringify(Exit.isFailure(exit) ? exit.cause : ""), "exists already")
      assert.strictEqual(readFileSync(privateFile, "utf8"), inUse)

      const publicFile = join(dir, "c-verify.pem")
      writeFileSync(publicFile, "taken")
      const fresh = join(dir, "d-signing.pem")
      const second = yield* run(["--private-key", fresh, "--public-key", publicFile])
      assert.isTrue(Exit.isFailure(second.exit))
      assert.strictEqual(readFileSync(publicFile, "utf8"), "taken")
      assert.isTrue(existsSync(fresh))
    }))
})
