// The second wall: a field whose name says it holds a secret is written as
// `<redacted>` even when its value is a plain string (a secret that escaped
// `Redacted`), at the top of a line, nested, in arrays, in class instances
// and what a toJSON gives, and inside an object logged as part of the
// message; fields that hold no secret are left alone.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, References } from "effect"
import * as PinoLogger from "../../src/logging/PinoLogger.ts"

const SECRET = "canary-plain-5e1d0b"

/** Runs `effect` with a PinoLogger writing to memory; the lines written, parsed, and their text. */
const logged = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    yield* effect.pipe(
      Effect.provide(Logger.layer([PinoLogger.make({ write: (line: string) => void lines.push(line) })])),
      Effect.provideService(References.MinimumLogLevel, "All")
    )
    return { text: lines.join(""), entries: lines.map((line) => JSON.parse(line) as Record<string, unknown>) }
  })

/** `value` under `field`, `depth` objects down: `{ a: { b: { [field]: value } } }`. */
const nested = (field: string, depth: number, value: unknown): Record<string, unknown> => {
  let object: Record<string, unknown> = { [field]: value }
  for (let level = depth; level > 0; level--) object = { [`level${level}`]: object }
  return object
}

/** The value at `field`, `depth` objects down, as `nested` put it. */
const at = (entry: Record<string, unknown> | undefined, field: string, depth: number): unknown => {
  let object = entry
  for (let level = 1; level <= depth; level++) object = object?.[`level${level}`] as Record<string, unknown> | undefined
  return object?.[field]
}

describe("PinoLogger redaction of secret fields", () => {
  for (const field of PinoLogger.secretFields) {
    it.effect(`an annotation ${field} holding a plain string is <redacted>, at every depth`, () =>
      Effect.gen(function*() {
        for (let depth = 0; depth <= PinoLogger.secretFieldDepth; depth++) {
          const line = Effect.logInfo("a line").pipe(Effect.annotateLogs(nested(field, depth, SECRET)))
          const { entries, text } = yield* logged(line)
          expect(text, `${field} at depth ${depth}`).not.toContain(SECRET)
          expect(at(entries[0], field, depth), `${field} at depth ${depth}`).toBe("<redacted>")
        }
      }))
  }

  it.effect("the names the issue lists, nested, in arrays, and beside fields that stay as they are", () =>
    Effect.gen(function*() {
      const { entries, text } = yield* logged(
        Effect.logWarning("upstream answered").pipe(Effect.annotateLogs({
          provider: "crm",
          version: 7,
          reason: "operator",
          request: { headers: { authorization: `Basic ${SECRET}` }, form: { client_secret: SECRET, grant_type: "x" } },
          tokens: [{ accessToken: SECRET, tokenType: "Bearer" }, { refreshToken: SECRET }],
          nats: { auth: { user: "robot", password: SECRET } }
        }))
      )
      expect(text).not.toContain(SECRET)
      expect(entries[0]).toMatchObject({
        provider: "crm",
        version: 7,
        reason: "operator",
        request: { headers: { authorization: "<redacted>" }, form: { client_secret: "<redacted>", grant_type: "x" } },
        tokens: [{ accessToken: "<redacted>", tokenType: "Bearer" }, { refreshToken: "<redacted>" }],
        nats: { auth: { user: "robot", password: "<redacted>" } }
      })
    }))

  it.effect("a secret field inside an object logged as part of the message is <redacted>, whatever its case", () =>
    Effect.gen(function*() {
      const { entries, text } = yield* logged(Effect.logInfo("sent", {
        url: "https://auth.example.test/token",
        body: { Client_Secret: SECRET, nested: { deeper: { PASSWORD: SECRET, kept: "visible" } } },
        list: [{ token: SECRET }]
      }))
      expect(text).not.toContain(SECRET)
      expect(entries[0]?.["msg"]).toBe(
        `sent {"url":"https://auth.example.test/token","body":{"Client_Secret":"<redacted>",` +
          `"nested":{"deeper":{"PASSWORD":"<redacted>","kept":"visible"}}},"list":[{"token":"<redacted>"}]}`
      )
    }))

  it.effect("fields that only look alike are left alone", () =>
    Effect.gen(function*() {
      const { entries } = yield* logged(
        Effect.logInfo("minted").pipe(Effect.annotateLogs({ tokenType: "Bearer", tokens: 5, secretRef: "P44_SECRET" }))
      )
      expect(entries[0]).toMatchObject({ tokenType: "Bearer", tokens: 5, secretRef: "P44_SECRET" })
    }))

  it.effect("a secret field of a class instance or of what a toJSON gives is <redacted>; a Date still prints", () =>
    Effect.gen(function*() {
      class Grant {
        readonly kind: string
        readonly refresh_token: string
        constructor(kind: string, refreshToken: string) {
          this.kind = kind
          this.refresh_token = refreshToken
        }
      }
      const wrapped = { toJSON: () => ({ access_token: SECRET, scope: "read" }) }
      const at = new Date(0)
      const { entries, text } = yield* logged(
        Effect.logInfo("grant").pipe(Effect.annotateLogs({ grant: new Grant("refresh", SECRET), wrapped, at }))
      )
      expect(text).not.toContain(SECRET)
      expect(entries[0]).toMatchObject({
        grant: { kind: "refresh", refresh_token: "<redacted>" },
        wrapped: { access_token: "<redacted>", scope: "read" },
        at: at.toISOString()
      })
    }))
})
