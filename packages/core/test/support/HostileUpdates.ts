// Hostile payloads for an updates subject, none of which a cache may keep:
// JSON that is no update (malformed, no object, deeply nested, huge), updates
// shaped like a good one but for one field, and well-formed tokens of
// another provider than the subject's, of a version far ahead of the clock
// (2^53 - 1 among them), or replaying the held version or an older one. With
// `needsKey`, the update is good but for its signature (none, garbage, by
// another key, or the cluster's signature of another token): hostile only
// to a cache given the cluster's key. Fields are JSON text, so numbers JSON.parse
// reads as no safe integer (`1e400`, `9007199254740993`) can be sent.
import fc from "fast-check"
import { Redacted, Result } from "effect"
import { Token } from "../../src/Token.ts"
import { generateSigningKeyPair, type SigningKey, signingKeyFromPem, signToken } from "../../src/TokenSignature.ts"

/** The caches' clock: versions above `(now + 1 day) * 1000` are implausible. */
export const now = 1_795_458_490_414
const plausibleCeiling = (now + 24 * 60 * 60 * 1000) * 1000

/** The cluster's key pair: a cache verifying with its public half tells the cluster's tokens from forged ones. */
export const clusterKeyPair = generateSigningKeyPair()
export const clusterKey: SigningKey = Result.getOrThrow(signingKeyFromPem(clusterKeyPair.privateKeyPem))
const forgerKey: SigningKey = Result.getOrThrow(signingKeyFromPem(generateSigningKeyPair().privateKeyPem))

/** In the JSON: the version of the token the cache holds when the update is offered, and one below it. */
export const heldSlot = "@@held@@"
export const olderSlot = "@@older@@"

export interface HostileUpdate {
  readonly json: string
  /** Hostile only to a cache that verifies signatures (a good update otherwise). */
  readonly needsKey: boolean
}

const json = (value: unknown): string => JSON.stringify(value)

export const tokenOf = (provider: string, version: number) =>
  new Token({
    provider,
    version,
    accessToken: Redacted.make(`${provider}-${version}`),
    tokenType: "Bearer",
    issuedAt: now,
    reason: "initial"
  })

/** The fields of a good token as JSON text: `tokenOf(provider, version)`, encoded. */
const good = (provider: string, version: number): Record<string, string> => ({
  provider: json(provider),
  version: json(version),
  accessToken: json(`${provider}-${version}`),
  tokenType: "\"Bearer\"",
  issuedAt: json(now),
  reason: "\"initial\""
})

const render = (fields: Record<string, string>, extra = ""): string =>
  `{"v":1,"token":{${Object.entries(fields).map(([key, value]) => `${json(key)}:${value}`).join(",")}}${extra}}`

/** Versions above any held one (`heldVersion`) and plausible at `now`. */
const goodVersion = fc.integer({ min: 10 ** 9, max: 10 ** 10 })

/** Versions a cache holds in the tests. */
export const heldVersion = fc.integer({ min: 1, max: 10 ** 8 })

const hostileText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.integer({ min: 1_000, max: 20_000 }).map((length) => "x".repeat(length)),
  fc.constantFrom("\u0000", "\ud800", "💥".repeat(100))
)

const deep = fc.integer({ min: 1, max: 5_000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth))

/** JSON text of no integer JavaScript holds exactly. */
const notAnInteger = fc.oneof(
  hostileText.map(json),
  deep,
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Number.isInteger(value)).map(json),
  fc.constantFrom("null", "true", "[]", "{}", "1.5", "1e400", "-1e400", "9007199254740992", "9007199254740993", "\"7\"")
)

/** JSON text that is no version: no safe integer, or not positive. */
const notAVersion = fc.oneof(notAnInteger, fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: 0 }).map(json))

const notAString = fc.oneof(fc.integer().map(json), deep, fc.constantFrom("null", "true", "[]", "{}", "[\"a\"]"))

/** Values each field must refuse. A huge access token is a good one, so it is not among them. */
const wrongField: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant("provider"), fc.oneof(hostileText.map(json), notAString, fc.constantFrom("\"\"", "\"A-B\""))),
  fc.tuple(fc.constant("version"), notAVersion),
  fc.tuple(fc.constant("accessToken"), notAString),
  fc.tuple(fc.constant("tokenType"), notAString),
  fc.tuple(
    fc.constantFrom("issuedAt", "expiresAt"),
    fc.oneof(notAString.filter((text) => !/^-?\d+$/.test(text)), fc.constantFrom("-1", "-0.5", "\"0\""))
  ),
  fc.tuple(fc.constant("reason"), fc.oneof(hostileText.map(json), notAString, fc.constantFrom("\"Initial\"", "\"x\"")))
)

const malformed = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 60 }),
  hostileText,
  deep,
  fc.jsonValue({ maxDepth: 3 }).map(json),
  fc.integer({ min: 1, max: 40 }).map((end) => render(good("p", 10 ** 9)).slice(0, end)),
  fc.constantFrom("{\"v\":1}", "{\"token\":{}}", "{\"v\":1,\"token\":null}", "{\"v\":1,\"token\":[]}", "{\"v\":\"1\"}")
)

/** Well-formed provider ids other than `provider`. */
export const otherProvider = (provider: string): fc.Arbitrary<string> =>
  fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/).filter((other) => other !== provider)

/** Every hostile update for `provider`'s subject, unsigned unless it is one whose only fault is its signature. */
export const hostileUpdates = (provider: string): fc.Arbitrary<HostileUpdate> => {
  const goodOf = (version: number) => good(provider, version)
  const signed = (key: SigningKey, version: number, signedVersion = version) =>
    render(goodOf(version), `,"signature":${json(signToken(key, tokenOf(provider, signedVersion)))}`)
  const hostile = (text: string): HostileUpdate => ({ json: text, needsKey: false })
  return fc.oneof(
    malformed.map(hostile),
    fc.tuple(goodVersion, wrongField).map(([version, [key, value]]) =>
      hostile(render({ ...goodOf(version), [key]: value }))
    ),
    fc.tuple(goodVersion, fc.constantFrom("provider", "version", "accessToken", "tokenType", "issuedAt", "reason")).map(
      ([version, missing]) => {
        const { [missing]: _, ...rest } = goodOf(version)
        return hostile(render(rest))
      }
    ),
    fc.tuple(goodVersion, notAnInteger).map(([version, v]) =>
      hostile(signed(clusterKey, version).replace("{\"v\":1,", `{"v":${v},`))
    ),
    fc.tuple(goodVersion, otherProvider(provider)).map(([version, other]) =>
      hostile(render({ ...goodOf(version), provider: json(other) }))
    ),
    fc.oneof(
      fc.integer({ min: plausibleCeiling + 1, max: Number.MAX_SAFE_INTEGER }),
      fc.constant(Number.MAX_SAFE_INTEGER)
    ).map((version) => hostile(signed(clusterKey, version))),
    fc.tuple(fc.constantFrom(heldSlot, olderSlot), fc.option(deep)).map(([replayed, extra]) =>
      hostile(render({ ...goodOf(1), version: replayed }, extra === null ? "" : `,"x":${extra}`))
    ),
    fc.tuple(goodVersion, fc.oneof(fc.string({ maxLength: 120 }), fc.base64String({ minLength: 88, maxLength: 88 })))
      .map(([version, signature]) => ({
        json: render(goodOf(version), `,"signature":${json(signature)}`),
        needsKey: true
      })),
    goodVersion.map((version) => ({ json: render(goodOf(version)), needsKey: true })),
    // The cluster's signature of another version, replayed onto this one; a signature by another key.
    fc.tuple(goodVersion, fc.integer({ min: 1, max: 10 ** 6 })).map(([version, other]) => ({
      json: signed(clusterKey, version, version + other),
      needsKey: true
    })),
    goodVersion.map((version) => ({ json: signed(forgerKey, version), needsKey: true }))
  )
}

/** A good update of `provider` at `version`, signed by the cluster. */
export const goodUpdate = (provider: string, version: number): string =>
  render(good(provider, version), `,"signature":${json(signToken(clusterKey, tokenOf(provider, version)))}`)
