/**
 * One HTTP request from a minter to its provider's upstream: bounded by a
 * timeout that aborts the request, and failing only with `UpstreamError`s
 * whose messages name the call and its URL, never what was sent (a form or
 * body may hold a password or a refresh token). What the answer means is the
 * caller's business; this module reads bodies only as JSON.
 */
import { Effect } from "effect"
import { kindOfStatus, networkReason, type UpstreamError, type UpstreamFailure } from "../UpstreamError.ts"

export interface UpstreamCall {
  readonly url: string
  readonly init: RequestInit
  /** Names the call in messages: "token endpoint", "ItemPath login". */
  readonly name: string
  /** Names the call and where it went, for when it got nowhere: "ItemPath login at https://…". */
  readonly address: string
  readonly timeoutMillis: number
  /**
   * What a failure is when the request may have reached the upstream: a
   * timeout, a connection dropped mid-call. `transient` lets the leader
   * retry; `refused` is for a request the upstream may have acted on and
   * that must not be sent again.
   */
  readonly afterSending: "transient" | "refused"
  readonly fail: UpstreamFailure
}

/** Errors of a connection that never opened: the request cannot have reached the upstream, so a retry is safe. */
const notSent = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"])

const unreachable = (call: UpstreamCall, cause: unknown): UpstreamError => {
  const code = (cause as { cause?: { code?: string } }).cause?.code
  const kind = code !== undefined && notSent.has(code) ? "transient" : call.afterSending
  return call.fail(`${call.address} unreachable: ${networkReason(cause)}`, kind)
}

/**
 * Sends the request and reads the answer with `read`, both within the
 * timeout: running out of time interrupts `read` and aborts the request, so
 * a hanging upstream does not keep a socket.
 */
export const exchange = <A>(
  call: UpstreamCall,
  read: (response: Response) => Effect.Effect<A, UpstreamError>
): Effect.Effect<A, UpstreamError> =>
  Effect.tryPromise({
    try: (signal) => fetch(call.url, { ...call.init, signal }),
    catch: (cause) => unreachable(call, cause)
  }).pipe(
    Effect.flatMap(read),
    Effect.timeoutOrElse({
      duration: call.timeoutMillis,
      orElse: () => Effect.fail(call.fail(`${call.name} did not answer within ${call.timeoutMillis} ms`, call.afterSending))
    })
  )

/**
 * The answer's body as JSON. A body that is not JSON fails with the kind its
 * status means, or `refused` after a success status: the upstream answered,
 * but nothing usable.
 */
export const readJson = (call: Pick<UpstreamCall, "name" | "fail">, response: Response): Effect.Effect<unknown, UpstreamError> =>
  Effect.tryPromise({
    try: () => response.json() as Promise<unknown>,
    catch: () =>
      call.fail(
        `${call.name} answered ${response.status} with a body that is not JSON`,
        response.ok ? "refused" : kindOfStatus(response.status),
        response
      )
  })
