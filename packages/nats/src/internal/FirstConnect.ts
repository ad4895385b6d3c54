/**
 * The wait for a first connection (`waitOnFirstConnect`). nats.js's own wait
 * retries every failure forever and tells nobody, so a replica whose TLS the
 * server refused waited without a word. Here each round dials every server
 * once (nats.js without its wait), and a failed round is either
 *
 * - a refusal: the server refused the credential, or TLS failed in a way
 *   waiting does not change (a certificate not trusted, either side's; TLS
 *   asked of a server without it). Two rounds refused in a row end the wait
 *   with the connect error, the rule nats.js has for credentials: what an
 *   operator expects of a configuration error is a process that stops and
 *   says why, not one that waits; one refusal alone may be a server
 *   reloading its configuration;
 * - anything else (no server listening yet, a connection dropped, a timeout,
 *   which under TLS may also be a client certificate the server refused, as
 *   its message says): the wait goes on, and says so in a warning naming the
 *   servers and the problem, the first at once and then at most one per
 *   `logEveryMillis` with the number of rounds failed since.
 *
 * The problem is the connect error's message, which never holds a secret.
 */
import { Clock, Effect, Result } from "effect"
import type { NatsConnectError } from "../NatsError.ts"
import { isAuthorizationViolation, messageOf, nameOf, shownServers, tlsErrorCode } from "./ConnectFailure.ts"

export interface FirstConnectWait {
  /** Between rounds: nats.js's `reconnectTimeWait`. */
  readonly retryMillis: number
  /** The least time between two warnings. */
  readonly logEveryMillis: number
}

export const firstConnectWait: FirstConnectWait = { retryMillis: 250, logEveryMillis: 30_000 }

// nats.js, when TLS was asked of a server without it.
const tlsMismatch = /does not support 'tls'|tls.*is not available/i

/** A failure waiting does not change: the credential refused, or TLS refused either way. */
export const isRefusal = (cause: unknown): boolean => {
  if (isAuthorizationViolation(cause) || nameOf(cause) === "UserAuthenticationExpiredError") return true
  // A TLS failure, but not a handshake that timed out: that one may be a server not up yet.
  const code = tlsErrorCode(cause)
  if (code !== undefined && !/TIMEOUT/.test(code)) return true
  return tlsMismatch.test(messageOf(cause))
}

/** Dials round after round until one connects; fails on the second refusal in a row. */
export const waitForFirstConnect = <A>(
  dial: Effect.Effect<A, NatsConnectError>,
  wait: FirstConnectWait = firstConnectWait
): Effect.Effect<A, NatsConnectError> =>
  Effect.gen(function*() {
    let refusedBefore = false
    let loggedAt: number | undefined
    let failedSinceLog = 0
    for (;;) {
      const round = yield* Effect.result(dial)
      if (Result.isSuccess(round)) {
        if (loggedAt !== undefined) yield* Effect.logInfo("connected to NATS after waiting for it")
        return round.success
      }
      const error = round.failure
      const refused = isRefusal(error.cause)
      if (refused && refusedBefore) return yield* Effect.fail(error)
      refusedBefore = refused
      failedSinceLog += 1
      const now = yield* Clock.currentTimeMillis
      if (loggedAt === undefined || now - loggedAt >= wait.logEveryMillis) {
        yield* Effect.logWarning("cannot connect to NATS yet; still trying").pipe(
          Effect.annotateLogs({
            servers: shownServers(error.servers),
            error: error.message,
            failedAttempts: failedSinceLog
          })
        )
        loggedAt = now
        failedSinceLog = 0
      }
      yield* Effect.sleep(wait.retryMillis)
    }
  })
