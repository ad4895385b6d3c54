/**
 * How much of an upstream's answer a minter reads: at most `maxBodyBytes`,
 * whatever the status. A token response is a few hundred bytes; an answer
 * that announces more, or streams past the limit, is refused as soon as that
 * is known and the rest is never read, so a broken or hostile upstream
 * cannot make the leader buffer it. A body nobody reads is cancelled, which
 * releases its connection at once instead of when it is garbage collected.
 */
import { Effect, Stream } from "effect"
import type { HttpClientError, HttpClientResponse } from "effect/http"
import { kindOfStatus, type UpstreamError, type UpstreamFailure } from "./UpstreamError.ts"

/** The most of an answer's body that is read: 64 KiB. */
export const maxBodyBytes = 64 * 1024

const limit = `${maxBodyBytes / 1024} KiB`

/** What a body read needs of its call; see `UpstreamCall`. */
export interface BodyReader {
  readonly name: string
  readonly fail: UpstreamFailure
  readonly afterSending: "transient" | "refused"
}

export const isSuccess = (response: HttpClientResponse.HttpClientResponse): boolean =>
  response.status >= 200 && response.status < 300

/** Drops the body unread. Opening its stream and closing it at once cancels it without reading a byte. */
export const discardBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  Effect.scoped(Stream.toPull(response.stream)).pipe(Effect.asVoid)

/**
 * The answer's body, at most `maxBodyBytes` of it. Too large is `refused`
 * after a success status (the upstream answered, but nothing usable) and the
 * status's kind otherwise; a body cut off mid-way is, after a success status,
 * what the call says of an answer that may have been lost.
 */
export const readBody = (
  call: BodyReader,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<Uint8Array, UpstreamError> => {
  const kind = isSuccess(response) ? "refused" : kindOfStatus(response.status)
  const declared = Number(response.headers["content-length"])
  if (declared > maxBodyBytes) {
    const message = `${call.name} answered ${response.status} with a body of ${declared} bytes, ` +
      `over the limit of ${limit}`
    return discardBody(response).pipe(Effect.andThen(Effect.fail(call.fail(message, kind, response))))
  }
  const tooLarge = () =>
    call.fail(`${call.name} answered ${response.status} with a body over the limit of ${limit}`, kind, response)
  const cutOff = () =>
    call.fail(
      `${call.name} answered ${response.status} but its body could not be read`,
      isSuccess(response) ? call.afterSending : kind,
      response
    )
  const unreadable = (error: HttpClientError.HttpClientError) =>
    // A reply without a body (a 204) reads as an empty one.
    error.reason._tag === "EmptyBodyError" ? Stream.empty : Stream.fail(cutOff())
  return response.stream.pipe(
    Stream.catch(unreadable),
    Stream.limitBytes(maxBodyBytes, () => Stream.fail(tooLarge())),
    Stream.mkUint8Array
  )
}
