/**
 * An `HttpClient` that answers from the test itself, with no socket: each
 * request is recorded as it would have gone on the wire (method, URL,
 * headers, body as text) and answered with the web `Response` the test's
 * script returns for it, failed as fetch fails when no answer came, or held
 * forever. `streamedBody` makes a body that is produced only as it is read,
 * and tells how much was read and whether it was cancelled: what a body
 * limit must not buffer. `endlessBody` stops coming; `brokenBody` breaks off.
 */
import { Effect, Layer } from "effect"
import { HttpClient, HttpClientError, type HttpClientRequest, HttpClientResponse } from "effect/http"

export interface SentRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** The error Node's fetch fails with when a connection fails with `code`: "fetch failed", the reason in its cause. */
export interface NoAnswer {
  readonly _tag: "NoAnswer"
  readonly cause: Error
}

export const noAnswer = (code: string): NoAnswer => ({
  _tag: "NoAnswer",
  cause: new TypeError("fetch failed", { cause: Object.assign(new Error(`connect ${code} 203.0.113.7:443`), { code }) })
})

/** What the script does with a request: answer it, fail it, or never answer (a hanging upstream). */
export type Script = (request: SentRequest, index: number) => Response | NoAnswer | "hang"

const bodyText = (request: HttpClientRequest.HttpClientRequest): string =>
  request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""

export const scriptedClient = (script: Script) => {
  const sent: Array<SentRequest> = []
  const signals: Array<AbortSignal> = []
  const client = HttpClient.make((request, url, signal) =>
    Effect.suspend(() => {
      const seen: SentRequest = {
        method: request.method,
        url: url.href,
        headers: request.headers,
        body: bodyText(request)
      }
      sent.push(seen)
      signals.push(signal)
      const answer = script(seen, sent.length - 1)
      if (answer === "hang") return Effect.never
      if (answer instanceof Response) return Effect.succeed(HttpClientResponse.fromWeb(request, answer))
      const reason = new HttpClientError.TransportError({ request, cause: answer.cause })
      return Effect.fail(new HttpClientError.HttpClientError({ reason }))
    })
  )
  return {
    layer: Layer.succeed(HttpClient.HttpClient, client),
    /** Every request the client was given, in order. */
    sent: sent as ReadonlyArray<SentRequest>,
    /** The abort signal of each request: aborted once the caller gave up on it. */
    signals: signals as ReadonlyArray<AbortSignal>
  }
}

export interface StreamedBody {
  readonly stream: ReadableStream<Uint8Array>
  /** Bytes handed to the reader so far. */
  readonly produced: () => number
  readonly cancelled: () => boolean
}

/** `totalBytes` of `fill`, in chunks of `chunkBytes`, each made only when the reader asks for it. */
export const streamedBody = (
  totalBytes: number,
  options: { readonly chunkBytes?: number; readonly fill?: string } = {}
) => {
  const chunkBytes = options.chunkBytes ?? 16 * 1024
  const fill = (options.fill ?? "x").charCodeAt(0)
  let produced = 0
  let cancelled = false
  const stream = new ReadableStream<Uint8Array>({
    pull: (controller) => {
      const size = Math.min(chunkBytes, totalBytes - produced)
      produced += size
      controller.enqueue(new Uint8Array(size).fill(fill))
      if (produced >= totalBytes) controller.close()
    },
    cancel: () => {
      cancelled = true
    }
  })
  return { stream, produced: () => produced, cancelled: () => cancelled } satisfies StreamedBody
}

/** A body that never ends: one chunk, then silence. */
export const endlessBody = () => {
  let cancelled = false
  const stream = new ReadableStream<Uint8Array>({
    start: (controller) => controller.enqueue(new TextEncoder().encode("{")),
    cancel: () => {
      cancelled = true
    }
  })
  return { stream, cancelled: () => cancelled }
}

/** A body whose connection breaks after its first bytes, as undici reports it ("terminated"). */
export const brokenBody = () =>
  new ReadableStream<Uint8Array>({
    start: (controller) => {
      controller.enqueue(new TextEncoder().encode(`{"access_token":`))
      controller.error(new TypeError("terminated"))
    }
  })
