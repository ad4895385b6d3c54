// Canary secrets for the leak tests: distinctive values for every kind of
// secret a deployment holds, each a needle to look for in what the service
// writes, in every form it may take on the way out (raw, URL-encoded, inside
// a Basic header). A leak is reported by where it was found and which
// secret it was, never by the secret's text: `masked` replaces every needle
// with its name in anything printed on failure.
import { randomBytes } from "node:crypto"
import type { LogLine, ReplicaProcess } from "@tokenbus/testing"

export interface Canaries {
  readonly clientSecret: string
  readonly password: string
  readonly refreshToken: string
  readonly accessToken: string
  readonly natsPassword: string
  /** What a hostile consumer puts in its requests: a replica repeats no payload. */
  readonly payload: string
}

export const makeCanaries = (): Canaries => {
  const tag = randomBytes(6).toString("hex")
  return {
    clientSecret: `canary-secret-7f3a${tag}`,
    password: `canary-password-91c2${tag}`,
    refreshToken: `canary-refresh-4be8${tag}`,
    accessToken: `canary-access-d05f${tag}`,
    natsPassword: `canary-nats-2a77${tag}`,
    payload: `canary-payload-6c19${tag}`
  }
}

/** A secret to look for: what to call it in a report, and its text. */
export type Needle = readonly [what: string, text: string]

export const canaryNeedles = (canaries: Canaries): ReadonlyArray<Needle> => [
  ["the client secret", canaries.clientSecret],
  ["the password", canaries.password],
  ["the refresh token", canaries.refreshToken],
  ["the access token", canaries.accessToken],
  ["the NATS password", canaries.natsPassword],
  ["a consumer's payload", canaries.payload]
]

/**
 * The needles with the forms each takes on the wire: URL-encoded, and, for
 * `basicSecrets`, base64 in a Basic header with each of `clientIds`.
 */
export const onTheWire = (
  needles: ReadonlyArray<Needle>,
  clientIds: ReadonlyArray<string>,
  basicSecrets: ReadonlyArray<string>
): ReadonlyArray<Needle> => [
  ...needles,
  ...needles.flatMap(([what, text]) =>
    encodeURIComponent(text) === text ? [] : [[`${what} (URL-encoded)`, encodeURIComponent(text)] as const]
  ),
  ...needles.filter(([, text]) => basicSecrets.includes(text)).flatMap(([what, text]) =>
    clientIds.map((id) => [`${what} (in a Basic header)`, Buffer.from(`${id}:${text}`).toString("base64")] as const)
  )
]

/** Which needles `text` holds, as "`where` leaked `what`". */
export const leaksIn = (where: string, text: string, needles: ReadonlyArray<Needle>): Array<string> =>
  needles.filter(([, needle]) => text.includes(needle)).map(([what]) => `${where} leaked ${what}`)

/** `text` with each needle replaced by its name: safe to print. */
export const masked = (text: string, needles: ReadonlyArray<Needle>): string =>
  needles.reduce((out, [what, needle]) => out.split(needle).join(`<${what}>`), text)

const fieldsOf = (line: LogLine): string =>
  Object.entries(line).filter(([, value]) => JSON.stringify(value).length > 0).map(([key]) => key).join(",")

/**
 * Every leak in a replica's output, each named by the line it is on: its
 * number, its message (masked) and its fields, or stderr or raw stdout.
 */
export const replicaLeaks = (replica: ReplicaProcess, needles: ReadonlyArray<Needle>): Array<string> => [
  ...replica.logs.flatMap((line, index) =>
    leaksIn(
      `${replica.name} log line ${index + 1} ("${masked(line.msg, needles)}", fields ${fieldsOf(line)})`,
      JSON.stringify(line),
      needles
    )
  ),
  ...replica.rawStdout.flatMap((text, index) => leaksIn(`${replica.name} raw stdout line ${index + 1}`, text, needles)),
  ...leaksIn(`${replica.name} stderr`, replica.stderr, needles)
]

/**
 * A reply or update as scanned for leaks: the access token of a token, which
 * is what the consumer asked for, is taken out; everything else stays.
 */
export const withoutIssuedToken = (text: string): string => {
  try {
    const parsed = JSON.parse(text) as { token?: { accessToken?: unknown } }
    if (typeof parsed?.token?.accessToken !== "string") return text
    return JSON.stringify({ ...parsed, token: { ...parsed.token, accessToken: "<the token asked for>" } })
  } catch {
    return text
  }
}
