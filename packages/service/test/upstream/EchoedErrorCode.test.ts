// An OAuth2 error answer's `error` field is the upstream's text, not ours: an
// upstream that echoes the request puts the client secret or the refresh
// token there. The code is named in the message (and so in logs, in the
// breaker's reason in KV and in CredentialsRejected replies) only when it is
// shaped like an OAuth2 code and holds nothing the call sent.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { OAuth2ClientCredentials } from "../../src/kinds/oauth2-client-credentials/OAuth2ClientCredentials.ts"
import type { Minter } from "../../src/kinds/ProviderKind.ts"
import { UpstreamError } from "../../src/upstream/UpstreamError.ts"
import { minterOver } from "../support/MinterOver.ts"
import { clientCredentials, refreshGrant, secretsSent } from "../support/OfflineProviders.ts"
import { scriptedClient, type SentRequest } from "../support/ScriptedHttpClient.ts"

/** An OAuth2 error answer whose `error` is `code(request)`. */
const errorAnswer = (status: number, code: (request: SentRequest) => string) => (request: SentRequest) =>
  new Response(JSON.stringify({ error: code(request) }), { status, headers: { "content-type": "application/json" } })

/** One mint's failure against `answer`, and the secrets it must not show (raw, encoded, and as sent). */
const failure = (minter: Minter, answer: (request: SentRequest) => Response) =>
  Effect.gen(function*() {
    const http = scriptedClient(answer)
    const error = yield* minterOver(http.layer)(minter).mint({ carry: undefined }).pipe(Effect.flip)
    expect(error).toBeInstanceOf(UpstreamError)
    return { error, secrets: secretsSent(http.sent) }
  })

/** Which of `secrets` show in the error, by index: never the secret itself in the test's output. */
const shown = (error: UpstreamError, secrets: ReadonlyArray<string>) =>
  secrets.flatMap((secret, index) => (JSON.stringify(error).includes(secret) ? [`secret #${index}`] : []))

describe("an OAuth2 error code that echoes the request", () => {
  const echoes: ReadonlyArray<readonly [string, (request: SentRequest) => string]> = [
    ["the form body", (request) => request.body],
    ["the authorization header", (request) => request.headers.authorization ?? ""],
    ["the refresh token alone", (request) => new URLSearchParams(request.body).get("refresh_token") ?? ""]
  ]
  for (const status of [400, 401, 403]) {
    for (const [what, code] of echoes) {
      it.effect(`a ${status} whose error is ${what} shows none of it`, () =>
        Effect.gen(function*() {
          const { error, secrets } = yield* failure(refreshGrant(), errorAnswer(status, code))
          expect(shown(error, secrets)).toEqual([])
          expect(error.message).toBe(`token endpoint answered ${status} (an error code not shown)`)
          expect(error.status).toBe(status)
        }))
    }
  }

  it.effect("the client secret echoed as the error code of a client_credentials call is not shown", () =>
    Effect.gen(function*() {
      const { error, secrets } = yield* failure(
        clientCredentials(),
        errorAnswer(401, (request) => new URLSearchParams(request.body).get("client_secret") ?? "")
      )
      expect(shown(error, secrets)).toEqual([])
      expect(error.kind).toBe("credentials-rejected")
    }))

  it.effect("a secret shaped like an OAuth2 code, echoed as the code, is not shown either", () =>
    Effect.gen(function*() {
      const minter = OAuth2ClientCredentials.minter({
        id: "offline-cc",
        kind: "oauth2-client-credentials",
        tokenUrl: "https://auth.example.test/oauth2/token",
        clientId: "offline-client",
        clientSecret: Redacted.make("open_sesame_plain_words"),
        clientAuth: "body",
        timeoutMillis: 2_000
      })
      const { error } = yield* failure(
        minter,
        errorAnswer(401, (request) => `invalid_client_${new URLSearchParams(request.body).get("client_secret")}`)
      )
      expect(error.message).toBe("token endpoint answered 401 (an error code not shown)")
    }))

  it.effect("a code shaped like OAuth2's is still named, and still decides the kind of failure", () =>
    Effect.gen(function*() {
      const rejected = yield* failure(clientCredentials(), errorAnswer(400, () => "invalid_client"))
      expect(rejected.error).toMatchObject({
        kind: "credentials-rejected",
        message: "token endpoint answered 400 (invalid_client)"
      })
      const grant = yield* failure(refreshGrant(), errorAnswer(400, () => "invalid_grant"))
      expect(grant.error.message).toBe(
        "token endpoint answered 400 (invalid_grant): " +
          "the refresh token is spent, expired or revoked; a new grant is needed"
      )
      const limited = yield* failure(clientCredentials(), errorAnswer(429, () => "rate_limited"))
      expect(limited.error).toMatchObject({
        kind: "rate-limited",
        message: "token endpoint answered 429 (rate_limited)"
      })
    }))
})
