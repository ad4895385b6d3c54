/**
 * A TypeScript Effect program of an application that installed
 * @tokenbus/client with npm (test/InstallFromTarballs.test.ts type-checks it
 * with tsc against the installed declarations, then runs it with Node, from a
 * scratch project outside the workspace). The `@ts-expect-error` lines make
 * the check fail if the declarations were missing and everything were `any`.
 * It prints the token's version and a SHA-256 of the access token.
 */
import { TokenClient } from "@tokenbus/client"
import type { Token } from "@tokenbus/core"
import { Effect, Redacted } from "effect"
import { createHash } from "node:crypto"

const [servers = "", prefix = "", provider = ""] = process.argv.slice(2)

const program = Effect.gen(function*() {
  const tokens = yield* TokenClient
  const token: Token = yield* tokens.getToken(provider)
  // @ts-expect-error the access token is Redacted, never a plain string
  token.accessToken satisfies string
  // @ts-expect-error a provider is named by its id
  tokens.getToken(44)
  const sha256 = createHash("sha256").update(Redacted.value(token.accessToken)).digest("hex")
  return { version: token.version, sha256 }
}).pipe(
  Effect.catchTag("ServiceUnavailable", (error) => Effect.die(error)),
  Effect.provide(TokenClient.layerConnect({ nats: { servers: [servers] }, prefix }))
)

console.log(JSON.stringify(await Effect.runPromise(program)))
