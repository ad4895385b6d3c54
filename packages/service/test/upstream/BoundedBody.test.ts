import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import type { Minter } from "../../src/kinds/ProviderKind.ts"
import { maxBodyBytes } from "../../src/upstream/BoundedBody.ts"
import { UpstreamError } from "../../src/upstream/UpstreamError.ts"
import { minterOver } from "../support/MinterOver.ts"
import { clientCredentials, itemPath, secretsSent } from "../support/OfflineProviders.ts"
import { type Script, scriptedClient, streamedBody } from "../support/ScriptedHttpClient.ts"

const MiB = 1024 * 1024
const chunkBytes = 16 * 1024

/** The failure of one mint by `minter` against `script`, checked for secrets; and what the client was sent. */
const mintFailure = (minter: Minter, script: Script) =>
  Effect.gen(function*() {
    const http = scriptedClient(script)
    const error = yield* minterOver(http.layer)(minter).mint({ carry: undefined }).pipe(Effect.flip)
    expect(error).toBeInstanceOf(UpstreamError)
    for (const secret of secretsSent(http.sent)) {
      expect(error.message).not.toContain(secret)
      expect(JSON.stringify(error)).not.toContain(secret)
    }
    return { error, sent: http.sent }
  })

/** A JSON token response of exactly `bytes` bytes. */
const tokenReplyOf = (bytes: number) => {
  const empty = JSON.stringify({ access_token: "tok-at-limit", pad: "" })
  return JSON.stringify({ access_token: "tok-at-limit", pad: "x".repeat(bytes - empty.length) })
}

describe("an answer's body is read up to 64 KiB", () => {
  it.effect("a 1 MiB token response that announces its size is refused unread, and its body cancelled", () =>
    Effect.gen(function*() {
      const body = streamedBody(MiB, { chunkBytes })
      const { error } = yield* mintFailure(
        clientCredentials(),
        () => new Response(body.stream, { status: 200, headers: { "content-length": String(MiB) } })
      )
      expect(error).toMatchObject({
        kind: "refused",
        status: 200,
        message: "token endpoint answered 200 with a body of 1048576 bytes, over the limit of 64 KiB"
      })
      // The stream may have made one chunk ready before anyone read; nothing more was asked of it.
      expect(body.produced()).toBeLessThanOrEqual(chunkBytes)
      expect(body.cancelled()).toBe(true)
    }))

  const unannounced: ReadonlyArray<readonly [string, Record<string, string>]> = [
    ["no content-length", {}],
    ["a content-length that lies (200)", { "content-length": "200" }]
  ]
  for (const [label, headers] of unannounced) {
    it.effect(`a 1 MiB stream with ${label} is refused once it passes the limit, the rest never read`, () =>
      Effect.gen(function*() {
        const body = streamedBody(MiB, { chunkBytes })
        const { error } = yield* mintFailure(
          clientCredentials(),
          () => new Response(body.stream, { status: 200, headers })
        )
        expect(error).toMatchObject({
          kind: "refused",
          status: 200,
          message: "token endpoint answered 200 with a body over the limit of 64 KiB"
        })
        // The limit, the chunk that crossed it, and at most one the stream readied meanwhile.
        expect(body.produced()).toBeLessThanOrEqual(maxBodyBytes + 2 * chunkBytes)
        expect(body.cancelled()).toBe(true)
      }))
  }

  it.effect("an error answer over the limit fails with its status's kind, keeping the status and Retry-After", () =>
    Effect.gen(function*() {
      const overLimit = (status: number, headers: Record<string, string> = {}) =>
        mintFailure(clientCredentials(), () => new Response(streamedBody(MiB).stream, { status, headers }))

      const down = (yield* overLimit(503)).error
      expect(down).toMatchObject({ kind: "transient", status: 503 })
      expect(down.message).toBe("token endpoint answered 503 with a body over the limit of 64 KiB")

      const limited = (yield* overLimit(429, { "retry-after": "7", "content-length": String(MiB) })).error
      expect(limited).toMatchObject({ kind: "rate-limited", status: 429, retryAfterMillis: 7000 })
      expect(limited.message).toContain("over the limit of 64 KiB")

      const rejected = (yield* overLimit(401)).error
      expect(rejected).toMatchObject({ kind: "credentials-rejected", status: 401 })
      expect(rejected.message).toContain("over the limit of 64 KiB")
    }))

  it.effect("a token response of exactly 64 KiB is read; one byte more is refused", () =>
    Effect.gen(function*() {
      const atLimit = scriptedClient(() => new Response(tokenReplyOf(maxBodyBytes), { status: 200 }))
      const token = yield* minterOver(atLimit.layer)(clientCredentials()).mint({ carry: undefined })
      expect(Redacted.value(token.accessToken)).toBe("tok-at-limit")

      const { error } = yield* mintFailure(clientCredentials(), () => new Response(tokenReplyOf(maxBodyBytes + 1)))
      expect(error).toMatchObject({
        kind: "refused",
        message: "token endpoint answered 200 with a body over the limit of 64 KiB"
      })
    }))

  it.effect("ItemPath: a login answer over the limit is unusable; a refusal's body is cancelled unread", () =>
    Effect.gen(function*() {
      const oversized = streamedBody(MiB, { chunkBytes })
      const { error } = yield* mintFailure(itemPath(), () => new Response(oversized.stream, { status: 200 }))
      // Unusable, not refused: each login leaves a 30-day refresh token (kinds/itempath/internal/UserEndpoints.ts).
      expect(error).toMatchObject({
        kind: "unusable",
        message: "ItemPath login answered 200 with a body over the limit of 64 KiB. " +
          "ItemPath may have issued a refresh token that nobody holds; check the baseUrl and ItemPath's version"
      })
      expect(oversized.produced()).toBeLessThanOrEqual(maxBodyBytes + 2 * chunkBytes)
      expect(oversized.cancelled()).toBe(true)

      const refusal = streamedBody(MiB, { chunkBytes })
      const refused = yield* mintFailure(itemPath(), () => new Response(refusal.stream, { status: 401 }))
      expect(refused.error).toMatchObject({
        kind: "credentials-rejected",
        status: 401,
        message: "ItemPath login answered 401"
      })
      expect(refusal.produced()).toBeLessThanOrEqual(chunkBytes)
      expect(refusal.cancelled()).toBe(true)
    }))
})
