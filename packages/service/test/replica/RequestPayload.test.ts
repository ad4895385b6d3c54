// The bounds on reading a request: a payload over the limit (counted in
// bytes, not characters) is refused with InvalidRequest before anything
// reads it, one at the limit is decoded, an unsupported version gets its
// own typed error, and a decoder's message is cut short in the reply.
import { assert, describe, it } from "@effect/vitest"
import { GetTokenRequestJson } from "@tokenbus/core"
import type { InboundMessage } from "@tokenbus/nats"
import { Effect, Schema } from "effect"
import { decodeRequest, maxErrorMessageChars, maxRequestBytes } from "../../src/replica/RequestPayload.ts"

const utf8 = new TextEncoder()

/** A message carrying `payload`; reading it as text counts how often that happened. */
const messageOf = (payload: string) => {
  const data = utf8.encode(payload)
  let reads = 0
  const message: InboundMessage = {
    subject: "tb.token.acme.get",
    data,
    reply: "_INBOX.1",
    respond: () => true,
    string: () => {
      reads += 1
      return new TextDecoder().decode(data)
    }
  }
  return { message, reads: () => reads }
}

/** A get of exactly `bytes` bytes, padded with `unit` in an unknown field. */
const getOf = (bytes: number, unit = "x") => {
  const open = "{\"v\":1,\"pad\":\""
  const room = bytes - utf8.encode(open).length - 2
  const width = utf8.encode(unit).length
  return open + unit.repeat(Math.floor(room / width)) + "x".repeat(room % width) + "\"}"
}

const decodeGet = decodeRequest(GetTokenRequestJson, "get request")

describe("decodeRequest", () => {
  it.effect("decodes a request of exactly the limit and refuses one byte more unread", () =>
    Effect.gen(function*() {
      const atLimit = messageOf(getOf(maxRequestBytes))
      assert.strictEqual(atLimit.message.data.length, maxRequestBytes)
      assert.deepStrictEqual(yield* decodeGet(atLimit.message), { v: 1 })

      const over = messageOf(getOf(maxRequestBytes + 1))
      const error = yield* Effect.flip(decodeGet(over.message))
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, `${maxRequestBytes + 1} bytes`)
      assert.strictEqual(over.reads(), 0, "an oversized payload is never read")
    }))

  it.effect("counts bytes: fewer characters than the limit, in three-byte ones, are still too many", () =>
    Effect.gen(function*() {
      const euros = messageOf(getOf(maxRequestBytes + 3, "€"))
      assert.isBelow(new TextDecoder().decode(euros.message.data).length, maxRequestBytes)
      const error = yield* Effect.flip(decodeGet(euros.message))
      assert.strictEqual(error._tag, "InvalidRequest")
    }))

  it.effect("answers a version it does not speak with UnsupportedProtocolVersion", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decodeGet(messageOf("{\"v\":2}").message))
      assert.strictEqual(error._tag, "UnsupportedProtocolVersion")
      if (error._tag === "UnsupportedProtocolVersion") {
        assert.strictEqual(error.requested, 2)
        assert.deepStrictEqual(error.supported, [1])
      }
    }))

  it.effect("cuts a decoder's long message short", () =>
    Effect.gen(function*() {
      const wordy = Schema.fromJsonString(
        Schema.Struct({ v: Schema.Int.check(Schema.makeFilter((v) => v === 1 || "no. ".repeat(1_000))) })
      )
      const error = yield* Effect.flip(decodeRequest(wordy, "wordy request")(messageOf("{\"v\":3}").message))
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.isAtMost(error.message.length, maxErrorMessageChars + 1)
      assert.match(error.message, /^malformed wordy request: no\. no\. .*…$/)
    }))
})
