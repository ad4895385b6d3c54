/**
 * A `NatsAuth` and `NatsTls` as nats.js's node transport takes them: an
 * authenticator, and TLS options it reads the PEM files of. Authenticators
 * read the `Redacted` secret each time the server asks, so the options object
 * nats.js keeps (and may print) holds no secret. A credential that cannot be
 * used at all (a malformed seed or `.creds` content) is found here, before
 * any dial, with a message naming the method and never the secret.
 */
import {
  type Authenticator,
  credsAuthenticator,
  nkeyAuthenticator,
  type NodeConnectionOptions,
  tokenAuthenticator,
  usernamePasswordAuthenticator
} from "@nats-io/transport-node"
import { Redacted } from "effect"
import { type NatsAuth, natsAuthMethod, type NatsTls } from "../NatsAuth.ts"

const encoder = new TextEncoder()

const authenticatorOf = (auth: NatsAuth): Authenticator => {
  if ("user" in auth) return usernamePasswordAuthenticator(auth.user, () => Redacted.value(auth.password))
  if ("token" in auth) return tokenAuthenticator(() => Redacted.value(auth.token))
  if ("nkeySeed" in auth) return nkeyAuthenticator(() => encoder.encode(Redacted.value(auth.nkeySeed).trim()))
  // nats.js finds each block by the dashes line after it: a file whose last newline was trimmed still parses.
  return credsAuthenticator(() => encoder.encode(`${Redacted.value(auth.creds)}\n`))
}

/** The part of nats.js's connect options that `auth` and `tls` decide. */
export const authConnectOptions = (
  auth: NatsAuth | undefined,
  tls: NatsTls | undefined
): Pick<NodeConnectionOptions, "authenticator" | "tls"> => ({
  ...(auth === undefined ? {} : { authenticator: authenticatorOf(auth) }),
  ...(tls === undefined ? {} : { tls: { ...tls } })
})

/**
 * Why `auth` cannot be sent to any server, or undefined. It signs a nonce as
 * a server would ask: a seed that does not decode fails here as it would on
 * every connection attempt.
 */
export const authProblem = (auth: NatsAuth): string | undefined => {
  try {
    authenticatorOf(auth)("tokenbus-check")
    return undefined
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause)
    const expected = "nkeySeed" in auth
      ? "a user NKey seed (SU...)"
      : "the content of a .creds file (the user JWT and NKey seed blocks)"
    return `the ${natsAuthMethod(auth)} credential is not ${expected}: ${scrub(why, auth)}`
  }
}

/** Every secret `auth` holds, as it could appear in a message. */
const secretsOf = (auth: NatsAuth | undefined): ReadonlyArray<string> => {
  if (auth === undefined) return []
  const secret = "password" in auth
    ? auth.password
    : "token" in auth
    ? auth.token
    : "nkeySeed" in auth
    ? auth.nkeySeed
    : auth.creds
  const value = Redacted.value(secret)
  // A .creds file's seed line is secret on its own, and so is any long line of it.
  return [value, value.trim(), ...value.split("\n").map((line) => line.trim()).filter((line) => line.length >= 16)]
    .filter((part) => part.length > 0)
}

/** `message` with any secret of `auth` replaced: nats.js and the server may echo what they were sent. */
export const scrub = (message: string, auth: NatsAuth | undefined): string =>
  secretsOf(auth).reduce((text, secret) => text.split(secret).join("<redacted>"), message)
