import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { OAuth2ClientCredentials } from "../../src/kinds/oauth2-client-credentials/OAuth2ClientCredentials.ts"
import type { Minter } from "../../src/kinds/ProviderKind.ts"
import { UpstreamError } from "../../src/upstream/UpstreamError.ts"
import { localServer, recordingServer } from "../support/LocalServer.ts"
import { minterOver, overFetch } from "../support/MinterOver.ts"
import { clientCredentials, itemPath, refreshGrant, secretsSent } from "../support/OfflineProviders.ts"
import {
  brokenBody,
  endlessBody,
  noAnswer,
  type Script,
  scriptedClient,
  type SentRequest
} from "../support/ScriptedHttpClient.ts"

/** One mint by `minter` against `script`: its failure, checked for secrets, and what the client was sent. */
const mintFailure = (minter: Minter, script: Script) =>
  Effect.gen(function*() {
    const http = scriptedClient(script)
    const error = yield* minterOver(http.layer)(minter).mint({ carry: undefined }).pipe(Effect.flip)
    expect(error).toBeInstanceOf(UpstreamError)
    for (const secret of secretsSent(http.sent)) {
      expect(error.message).not.toContain(secret)
      expect(JSON.stringify(error)).not.toContain(secret)
    }
    return { error, sent: http.sent, signals: http.signals }
  })

/** An answer that repeats what it was sent: what a careless upstream's error page does. */
const echo = (status: number, headers: Record<string, string> = {}) => (request: SentRequest) =>
  new Response(JSON.stringify({ error: "invalid_request", error_description: `you sent ${request.body}` }), {
    status,
    headers: { "content-type": "application/json", ...headers }
  })

describe("redirects are refused, never followed", () => {
  for (const status of [301, 302, 303, 307, 308]) {
    it.effect(`a ${status} from the token endpoint fails naming the status and the Location's host only`, () =>
      Effect.gen(function*() {
        const { error, sent } = yield* mintFailure(refreshGrant(), (request) =>
          new Response(`moved; you sent ${request.body}`, {
            status,
            headers: { location: `https://elsewhere.example:8443/collect?${request.body}` }
          }))
        expect(error).toMatchObject({
          kind: "refused",
          status,
          message: `token endpoint answered ${status} (a redirect, Location host elsewhere.example:8443); ` +
            "redirects are not followed"
        })
        expect(sent).toHaveLength(1)
      }))
  }

  it.effect("a relative Location names the endpoint's own host; a missing one says so", () =>
    Effect.gen(function*() {
      const relative = yield* mintFailure(
        itemPath(),
        () => new Response(null, { status: 302, headers: { location: "/sso" } })
      )
      expect(relative.error.message).toBe(
        "ItemPath login answered 302 (a redirect, Location host acme.itempath.example.test); redirects are not followed"
      )
      expect(relative.sent).toHaveLength(1)
      const missing = yield* mintFailure(clientCredentials(), () => new Response(null, { status: 307 }))
      expect(missing.error.message).toBe(
        "token endpoint answered 307 (a redirect, no Location); redirects are not followed"
      )
    }))
})

describe("redirects over fetch", () => {
  // fetch follows a 307 with the same POST, secret and all, unless the client tells it not to.
  it.live("a 307 from a real server is refused, and its Location never sees the request", () =>
    Effect.gen(function*() {
      const elsewhere = yield* recordingServer({ access_token: "stolen" }, "/collect")
      const endpoint = yield* localServer((req, res) => {
        req.resume()
        res.writeHead(307, { location: elsewhere.url })
        res.end()
      }, "/token")
      const minter = overFetch(OAuth2ClientCredentials.minter({
        id: "loopback",
        kind: "oauth2-client-credentials",
        tokenUrl: endpoint.url,
        clientId: "loopback-client",
        clientSecret: Redacted.make("loopback-secret"),
        clientAuth: "body",
        timeoutMillis: 2_000
      }))
      const error = yield* minter.mint({ carry: undefined }).pipe(Effect.flip)
      expect(error).toMatchObject({ kind: "refused", status: 307 })
      expect(error.message).toContain(`Location host ${new URL(elsewhere.url).host}`)
      expect(elsewhere.seen).toEqual([])
    }))
})

describe("a request that got no answer", () => {
  // The refresh-token grant must not resend what the upstream may have acted on.
  for (const code of ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]) {
    it.effect(`${code}: the connection never opened, so even a refresh-token grant may retry (transient)`, () =>
      Effect.gen(function*() {
        const { error } = yield* mintFailure(refreshGrant(), () => noAnswer(code))
        expect(error).toMatchObject({
          kind: "transient",
          message: `token endpoint https://auth.example.test/oauth2/token unreachable: fetch failed: ${code}`
        })
        expect(error.status).toBeUndefined()
      }))
  }

  it.effect("a connection lost after it opened is what the call says of a sent request", () =>
    Effect.gen(function*() {
      const grant = yield* mintFailure(refreshGrant(), () => noAnswer("ECONNRESET"))
      expect(grant.error.kind).toBe("refused")
      const credentials = yield* mintFailure(clientCredentials(), () => noAnswer("UND_ERR_SOCKET"))
      expect(credentials.error).toMatchObject({
        kind: "transient",
        message: "token endpoint https://auth.example.test/oauth2/token unreachable: fetch failed: UND_ERR_SOCKET"
      })
      const login = yield* mintFailure(itemPath(), () => noAnswer("ECONNRESET"))
      expect(login.error.message).toBe(
        "ItemPath login at https://acme.itempath.example.test/api/users/login unreachable: fetch failed: ECONNRESET"
      )
    }))

  it.effect("a body cut off mid-way: after a 2xx what the call says of a sent request, else the status's kind", () =>
    Effect.gen(function*() {
      const grant = yield* mintFailure(refreshGrant(), () => new Response(brokenBody(), { status: 200 }))
      expect(grant.error).toMatchObject({
        kind: "refused",
        status: 200,
        message: "token endpoint answered 200 but its body could not be read"
      })
      const credentials = yield* mintFailure(clientCredentials(), () => new Response(brokenBody(), { status: 200 }))
      expect(credentials.error.kind).toBe("transient")
      const limited = yield* mintFailure(refreshGrant(), () => new Response(brokenBody(), { status: 429 }))
      expect(limited.error).toMatchObject({ kind: "rate-limited", status: 429 })
    }))

  it.effect("a request left unanswered past timeoutMillis is aborted", () =>
    Effect.gen(function*() {
      const fiber = yield* mintFailure(refreshGrant(500), () => "hang").pipe(Effect.forkChild)
      yield* TestClock.adjust(499)
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      const { error, signals } = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ kind: "refused", message: "token endpoint did not answer within 500 ms" })
      expect(signals.map((signal) => signal.aborted)).toEqual([true])
    }))

  it.effect("a body that stops coming is abandoned at the timeout and cancelled", () =>
    Effect.gen(function*() {
      const body = endlessBody()
      const fiber = yield* mintFailure(clientCredentials(300), () => new Response(body.stream, { status: 200 })).pipe(
        Effect.forkChild
      )
      yield* TestClock.adjust(300)
      const { error } = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ kind: "transient", message: "token endpoint did not answer within 300 ms" })
      expect(body.cancelled()).toBe(true)
    }))
})

describe("what was sent never shows in an error", () => {
  // `mintFailure` checks every message against the secrets and each request as sent.
  it.effect("answers that echo the request: an OAuth2 error, a page that is not JSON, a 200 without a token", () =>
    Effect.gen(function*() {
      const invalid = yield* mintFailure(refreshGrant(), echo(400))
      expect(invalid.error).toMatchObject({
        kind: "refused",
        status: 400,
        message: "token endpoint answered 400 (invalid_request)"
      })
      expect(invalid.sent[0]?.body).toContain("refresh_token=rt-original-9f3c")

      const page = yield* mintFailure(
        clientCredentials(),
        (request) => new Response(`<p>${request.body}</p>`, { status: 502 })
      )
      expect(page.error).toMatchObject({
        kind: "transient",
        message: "token endpoint answered 502 with a body that is not JSON"
      })
      expect(page.sent[0]?.body).toContain("client_secret=")

      const tokenless = yield* mintFailure(clientCredentials(), echo(200))
      expect(tokenless.error.message).toBe("token endpoint answered 200 without a usable access_token")
    }))

  it.effect("ItemPath: a refused login, and a login answer that is not JSON", () =>
    Effect.gen(function*() {
      const refused = yield* mintFailure(itemPath(), echo(429, { "retry-after": "3" }))
      expect(refused.error).toMatchObject({
        kind: "rate-limited",
        retryAfterMillis: 3000,
        message: "ItemPath login answered 429"
      })
      expect(refused.sent[0]?.body).toContain("pa55-W0rd!&x")

      const page = yield* mintFailure(itemPath(), (request) => new Response(`<p>${request.body}</p>`, { status: 200 }))
      // Unusable, not refused: each login leaves a 30-day refresh token (kinds/itempath/internal/UserEndpoints.ts).
      expect(page.error).toMatchObject({
        kind: "unusable",
        status: 200,
        message: "ItemPath login answered 200 with a body that is not JSON. " +
          "ItemPath may have issued a refresh token that nobody holds; check the baseUrl and ItemPath's version"
      })
    }))
})
