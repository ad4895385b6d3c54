/**
 * `tokenbus keygen`: a new signing key pair for a cluster. The private key
 * (PKCS#8 PEM) goes to a new file only its owner can read, never to the
 * terminal: every replica's `signing.privateKey` names it. The public key
 * (SPKI PEM) is printed, or written to a file: consumers verify tokens with
 * it (the client's `verifyKey`). An existing file is never overwritten, so
 * a key in use cannot be lost by running the command twice.
 */
import { generateSigningKeyPair } from "@tokenbus/core"
import { writeFile } from "node:fs/promises"
import { Console, Data, Effect, Option, Redacted } from "effect"
import { Command, Flag } from "effect/cli"

export class KeygenError extends Data.TaggedError("KeygenError")<{ readonly message: string }> {}

const reasonOf = (cause: unknown): string =>
  (cause as { readonly code?: unknown }).code === "EEXIST"
    ? "the file exists already (remove it first if the key in it is no longer used)"
    : cause instanceof Error
    ? cause.message
    : String(cause)

const writeNew = (path: string, content: string, mode: number) =>
  Effect.tryPromise({
    try: () => writeFile(path, content, { mode, flag: "wx" }),
    catch: (cause) => new KeygenError({ message: `cannot write ${path}: ${reasonOf(cause)}` })
  })

export const keygen = Command.make("keygen", {
  privateKey: Flag.String("private-key").pipe(
    Flag.withDescription("New file for the private key (mode 0600): the replicas' signing.privateKey")
  ),
  publicKey: Flag.String("public-key").pipe(
    Flag.withDescription("New file for the public key, the consumers' verifyKey (default: print it)"),
    Flag.optional
  )
}, ({ privateKey, publicKey }) =>
  Effect.gen(function*() {
    const pair = generateSigningKeyPair()
    yield* writeNew(privateKey, Redacted.value(pair.privateKeyPem), 0o600)
    if (Option.isSome(publicKey)) {
      yield* writeNew(publicKey.value, pair.publicKeyPem, 0o644)
      yield* Console.error(`tokenbus keygen: private key in ${privateKey}, public key in ${publicKey.value}`)
    } else {
      yield* Console.error(`tokenbus keygen: private key in ${privateKey}; the public key:`)
      yield* Console.log(pair.publicKeyPem.trimEnd())
    }
  })).pipe(
    Command.withDescription(
      "Create a signing key pair: the private key for the replicas (signing.privateKey), the public one for consumers"
    )
  )
