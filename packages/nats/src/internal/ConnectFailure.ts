/**
 * What a failed first connection says to the person who has to fix it. A
 * refused credential and a TLS failure look alike from afar (the connection
 * closes), so each is named: an authorization violation says which method
 * was refused, a TLS failure says so and points at `nats.tls`, and so does
 * the timeout a refused client certificate ends in. Never the
 * secret: the message is scrubbed of it whatever nats.js put in, and a
 * server URL with credentials in it is shown without them. How a cause is
 * read (a refused credential, a TLS error code) is the first connection's
 * wait's too (FirstConnect.ts), which stops on what waiting does not change.
 */
import { type NatsAuth, natsAuthMethod, type NatsTls } from "../NatsAuth.ts"
import { scrub } from "./AuthOptions.ts"

export const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

export const nameOf = (cause: unknown): string => (cause instanceof Error ? cause.name : "")

const codeOf = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : ""

// Node's certificate checks and OpenSSL's alerts (ERR_TLS_CERT_ALTNAME_INVALID, SELF_SIGNED_CERT_IN_CHAIN...).
const tlsCode = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/
// nats.js's own words, as when TLS was asked of a server without it.
const tlsMessage = /certificate|tls|ssl|handshake/i

/** The server refused the credential, or asked for one that was not given. */
export const isAuthorizationViolation = (cause: unknown): boolean =>
  nameOf(cause) === "AuthorizationError" || /authorization violation/i.test(messageOf(cause))

/** The cause's error code if it is a TLS one (a handshake timeout's too), else undefined. */
export const tlsErrorCode = (cause: unknown): string | undefined => {
  const code = codeOf(cause)
  return tlsCode.test(code) ? code : undefined
}

/** The server URLs as messages and logs show them: credentials written into a URL are not. */
export const shownServers = (servers: ReadonlyArray<string>): string =>
  servers.map((url) => url.replace(/\/\/[^/@]*@/, "//<redacted>@")).join(", ")

/**
 * With TLS 1.3 the client's side of the handshake is over before the server
 * checks the client's certificate; a server refusing it closes the
 * connection, and nats.js, which no longer listens for that, waits until its
 * handshake times out. So a timeout under TLS most likely means that.
 */
const tlsTimeout = (tls: NatsTls) =>
  tls.certFile === undefined
    ? "timeout: no answer after the TLS handshake, as when the server requires a client certificate " +
      "(mutual TLS): set nats.tls.certFile and keyFile"
    : "timeout: no answer after the TLS handshake, as when the server refuses the client certificate " +
      `${tls.certFile}: check that the server trusts the CA that signed it`

/** Why the connection failed, for the connect error's message (after `cannot connect to NATS at ...: `). */
export const connectFailure = (cause: unknown, auth: NatsAuth | undefined, tls: NatsTls | undefined): string => {
  const message = scrub(messageOf(cause), auth)
  if (isAuthorizationViolation(cause)) {
    return auth === undefined
      ? `the server asks for credentials and none were given (authorization violation): set nats.auth`
      : `the server refused the ${natsAuthMethod(auth)} credential (authorization violation)`
  }
  if (nameOf(cause) === "UserAuthenticationExpiredError") {
    return `the server refused the credential as expired (${message}): renew it`
  }
  if (tlsErrorCode(cause) !== undefined || tlsMessage.test(message)) return `TLS failed (${message}): check nats.tls`
  if (tls !== undefined && nameOf(cause) === "TimeoutError") return tlsTimeout(tls)
  return message
}
