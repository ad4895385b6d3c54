// Hostile payloads for the request subjects (`get`, `unauthorized`, `mint`),
// each built together with what a replica must answer it with: malformed
// JSON, wrong types, huge strings, deep nesting, forged protocol versions,
// oversized payloads (also in multi-byte characters, so bytes and not
// characters are counted), and well-formed requests with hostile extras,
// which decoders ignore and serve. A report's version is picked against what
// the cluster holds when it is sent (`VersionPick`): replayed and forged
// reports must cost nothing, and only a report of the held version may mint.
import fc from "fast-check"
import { maxRequestBytes } from "../../src/replica/RequestPayload.ts"

/** In every string a payload carries: no log line may contain it. */
export const canary = "canary-payload-5b1e"

export type Refused = "InvalidRequest" | "UnsupportedProtocolVersion"

/** How a report's version relates to the newest one the cluster holds when it is sent. */
export type VersionPick =
  /** The held version: the one report the rules let mint (once). */
  | { readonly _tag: "held" }
  /** A replayed report of an older version. */
  | { readonly _tag: "older"; readonly by: number }
  /** Forged: beyond anything minted. */
  | { readonly _tag: "ahead"; readonly by: number }
  /** Forged: 2^53 - 1, the highest version there can be. */
  | { readonly _tag: "ceiling" }

export type Expected =
  | { readonly _tag: "refused"; readonly error: Refused }
  /** Answered with the held token: a get, or a mint request that needs no mint. */
  | { readonly _tag: "served" }
  | { readonly _tag: "report"; readonly pick: VersionPick }

export interface Hostile {
  /** The payload; `versionSlot` in it stands for the version a report's pick resolves to when it is sent. */
  readonly payload: string
  readonly expected: Expected
}

export const versionSlot = "@@version@@"

/** The version `pick` names when the cluster holds `held`. */
export const resolve = (pick: VersionPick, held: number): number => {
  switch (pick._tag) {
    case "held":
      return held
    case "older":
      return Math.max(1, held - pick.by)
    case "ahead":
      return held + pick.by
    case "ceiling":
      return Number.MAX_SAFE_INTEGER
  }
}

const json = (value: unknown): string => JSON.stringify(value)
const byteLength = (text: string): number => Buffer.byteLength(text, "utf8")
/** Whether `text` is JSON once read off the wire: reading UTF-8 drops a leading byte-order mark. */
const isJson = (text: string): boolean => {
  try {
    JSON.parse(text.replace(/^\ufeff/, ""))
    return true
  } catch {
    return false
  }
}

const invalid = (payload: string): Hostile => ({ payload, expected: { _tag: "refused", error: "InvalidRequest" } })
const unsupported = (payload: string): Hostile => ({
  payload,
  expected: { _tag: "refused", error: "UnsupportedProtocolVersion" }
})
const served = (payload: string): Hostile => ({ payload, expected: { _tag: "served" } })
const report = (payload: string) => (pick: VersionPick): Hostile => ({ payload, expected: { _tag: "report", pick } })

/** Strings with the canary in them: odd characters, or huge (still under the bound, so they are decoded). */
const hostileText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.integer({ min: 100, max: 3_900 }).map((length) => "x".repeat(length)),
  fc.constantFrom("\u0000", "\ud800", "\udfff\ud800", "💥".repeat(300), "\\u0000", "%s%n%x", "${process.exit()}")
).map((text) => canary + text)

/** Nested arrays or objects, as deep as fits in a request. */
const deep = fc.oneof(
  fc.integer({ min: 1, max: 1_900 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)),
  fc.integer({ min: 1, max: 600 }).map((depth) => "{\"a\":".repeat(depth) + "1" + "}".repeat(depth))
)

/** JSON text of values that are no integer at all, or none JavaScript holds exactly. */
const notAnInteger = fc.oneof(
  hostileText.map(json),
  deep,
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Number.isInteger(value)).map(json),
  fc.integer({ min: 1, max: 2 ** 30 }).map((n) => json(2 ** 53 + 2 * n)),
  fc.constantFrom("null", "true", "[]", "{}", "[1]", "1.5", "1e400", "-1e400", "9007199254740993", "1e21"),
  fc.constantFrom("\"1\"", "\"NaN\"")
)

/** JSON text of what is no version: all of the above, zero and negative integers. */
const notAVersion = fc.oneof(
  notAnInteger,
  fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: 0 }).map(json),
  fc.constantFrom("0", "-0", "-1")
)

/** Protocol versions that are integers but not 1, some written oddly. */
const unsupportedVersion = fc.oneof(
  fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).filter((v) => v !== 1).map(json),
  fc.constantFrom("0", "-0", "2", "2.0", "2e0", "99", json(Number.MAX_SAFE_INTEGER))
)

const malformedJson = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 60 }),
  hostileText,
  fc.integer({ min: 1, max: 22 }).map((end) => "{\"v\":1,\"version\":12345}".slice(0, end)),
  fc.constantFrom("{v:1}", "{'v':1}", "{\"v\":01}", "{\"v\":+1}", "{\"v\":.5}", "{\"v\":NaN}", "{\"v\":1,}", "[1,]"),
  fc.constantFrom("{\"v\":1}}", "{\"v\":1} x", "{\"v\":1}\u0000", "undefined", "NaN", "{\"v\":\"\\x\"}")
).filter((text) => !isJson(text))

/** JSON that is no object: arrays, strings, numbers, null. */
const notAnObject = fc.jsonValue({ maxDepth: 3 })
  .filter((value) => typeof value !== "object" || value === null || Array.isArray(value))
  .map(json)

/** Fields no request has, which decoders must ignore: hostile strings, hostile keys, deep values, prototype keys. */
const extras = fc.oneof(
  hostileText.map((text) => `"x":${json(text)}`),
  hostileText.map((text) => `${json(text)}:1`),
  deep.map((value) => `"x":${value}`),
  fc.constantFrom("\"__proto__\":{\"v\":2}", "\"constructor\":{\"prototype\":{}}", "\"ok\":false,\"error\":{}")
)

/** A payload over the bound: `open`, then a filler of one character (1, 3 or 4 bytes), then `close`. */
const oversized = (open: string, close: string) =>
  fc.tuple(
    fc.oneof({ arbitrary: fc.integer({ min: maxRequestBytes + 1, max: 64 * 1024 }), weight: 10 }, {
      arbitrary: fc.constantFrom(maxRequestBytes + 1, 1024 * 1024),
      weight: 1
    }),
    fc.constantFrom("x", "€", "💥")
  ).map(([size, unit]) => invalid(open + canary + unit.repeat(Math.ceil(size / byteLength(unit))) + close))

/** A get of exactly `size` bytes: padded by an unknown field. */
const getOfBytes = (size: number): string => {
  const open = "{\"v\":1,\"pad\":\""
  return open + "x".repeat(size - byteLength(open) - 2) + "\"}"
}

/**
 * An oversized payload is refused before anything else: a case that grew
 * past the bound expects that. A case whose size depends on the version it
 * is sent with (within a few bytes of the bound) is left out.
 */
const sized = (hostile: Hostile): Hostile | undefined => {
  const shortest = byteLength(hostile.payload.replaceAll(versionSlot, "1"))
  const longest = byteLength(hostile.payload.replaceAll(versionSlot, json(Number.MAX_SAFE_INTEGER)))
  if (longest <= maxRequestBytes) return hostile
  if (shortest > maxRequestBytes) return invalid(hostile.payload)
  return undefined
}

const bounded = (cases: fc.Arbitrary<Hostile>): fc.Arbitrary<Hostile> =>
  cases.map(sized).filter((hostile): hostile is Hostile => hostile !== undefined)

const versionPick: fc.Arbitrary<VersionPick> = fc.oneof(
  fc.constant({ _tag: "held" as const }),
  fc.integer({ min: 1, max: 50 }).map((by) => ({ _tag: "older" as const, by })),
  fc.integer({ min: 1, max: 2 ** 40 }).map((by) => ({ _tag: "ahead" as const, by })),
  fc.constant({ _tag: "ceiling" as const })
)

/** Payloads for `<prefix>.token.<provider>.get`. */
export const hostileGet: fc.Arbitrary<Hostile> = bounded(fc.oneof(
  fc.constantFrom(served(""), served("{\"v\":1}"), served("{\"v\":1e0}"), served("{\"v\":7,\"v\":1}")),
  fc.constantFrom(served(getOfBytes(maxRequestBytes)), invalid(getOfBytes(maxRequestBytes + 1))),
  extras.map((extra) => served(`{"v":1,${extra}}`)),
  malformedJson.map(invalid),
  notAnObject.map(invalid),
  fc.constantFrom("{}", "{\"V\":1}", "{\"version\":1}").map(invalid),
  notAnInteger.map((raw) => invalid(`{"v":${raw}}`)),
  unsupportedVersion.map((v) => unsupported(`{"v":${v}}`)),
  oversized("{\"v\":1,\"pad\":\"", "\"}")
))

/** Payloads for `<prefix>.token.<provider>.unauthorized`. */
export const hostileReport: fc.Arbitrary<Hostile> = bounded(fc.oneof(
  versionPick.map(report(`{"v":1,"version":${versionSlot}}`)),
  fc.tuple(versionPick, extras).map(([pick, extra]) => report(`{"v":1,"version":${versionSlot},${extra}}`)(pick)),
  fc.constantFrom("", "{}", "{\"v\":1}", "{\"version\":5}").map(invalid),
  malformedJson.map(invalid),
  notAnObject.map(invalid),
  notAVersion.map((raw) => invalid(`{"v":1,"version":${raw}}`)),
  notAnInteger.map((raw) => invalid(`{"v":${raw},"version":${versionSlot}}`)),
  unsupportedVersion.map((v) => unsupported(`{"v":${v},"version":${versionSlot}}`)),
  oversized(`{"v":1,"version":${versionSlot},"pad":"`, "\"}")
))

/**
 * Payloads for `<prefix>.leader.<provider>.mint`. A well-formed `operator`
 * request mints by design (who may send one is a matter of NATS
 * permissions), so it appears only malformed, unsupported or oversized.
 */
export const hostileMint: fc.Arbitrary<Hostile> = bounded(fc.oneof(
  fc.constantFrom(
    served("{\"v\":1,\"reason\":\"initial\"}"),
    served("{\"v\":1,\"reason\":\"proactive\",\"failedVersion\":5}"),
    served("{\"v\":1,\"reason\":\"unauthorized-report\"}")
  ),
  extras.map((extra) => served(`{"v":1,"reason":"initial",${extra}}`)),
  versionPick.map(report(`{"v":1,"reason":"unauthorized-report","failedVersion":${versionSlot}}`)),
  fc.constantFrom("", "{\"v\":1}", "{\"reason\":\"operator\"}", "{\"v\":1,\"reason\":\"OPERATOR\"}").map(invalid),
  malformedJson.map(invalid),
  notAnObject.map(invalid),
  hostileText.map((text) => invalid(`{"v":1,"reason":${json(text)}}`)),
  notAnInteger.map((raw) => invalid(`{"v":${raw},"reason":"operator"}`)),
  notAVersion.map((raw) => invalid(`{"v":1,"reason":"operator","failedVersion":${raw}}`)),
  unsupportedVersion.map((v) => unsupported(`{"v":${v},"reason":"operator"}`)),
  oversized("{\"v\":1,\"reason\":\"operator\",\"pad\":\"", "\"}")
))

/**
 * Provider tokens no replica serves: well-formed ids of no configured
 * provider, other cases, odd characters (control, astral, lone surrogates,
 * NATS wildcard characters inside a token), and very long ones. What NATS
 * cannot route as one token (a dot, whitespace) becomes `_`, and a bare
 * wildcard is left out.
 */
export const unknownProvider = (configured: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/),
    fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
    fc.string({ minLength: 65, maxLength: 2_000 }),
    fc.constantFrom(configured.toUpperCase(), `${configured}-`, `${configured}\u0000`, "a*", "a>", "$SYS", "\ud800")
  )
    .map((token) => token.replace(/[.\s]/g, "_"))
    .filter((token) => token !== configured && token !== "*" && token !== ">")
