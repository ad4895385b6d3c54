/**
 * One request through the undici interceptor: it is dispatched with the
 * token, and a 401 is held back from the caller's handler (its status,
 * headers and body kept) while it is reported. Then the request is
 * dispatched once more with the newer token, if there is one and the request
 * may be repeated, and the caller sees only the second answer; or the held
 * 401 is played to the caller as it came. The second answer is never held,
 * so nothing loops.
 */
import { isNewer, type Token } from "@tokenbus/core"
import { Redacted } from "effect"
import type { Dispatcher } from "undici"
import type { TokenSource } from "../TokenSource.ts"
import { ControllerRelay } from "./ControllerRelay.ts"
import { withAuthorization } from "./DispatchHeaders.ts"

type IncomingHeaders = Parameters<NonNullable<Dispatcher.DispatchHandler["onResponseStart"]>>[2]

export interface TokenDispatchOptions {
  readonly dispatch: Dispatcher.Dispatch
  readonly opts: Dispatcher.DispatchOptions
  readonly handler: Dispatcher.DispatchHandler
  readonly tokens: TokenSource
  /** Whether the request may be sent again after a 401. */
  readonly repeatable: boolean
}

/** A 401 kept from the caller while it is reported. */
interface Held {
  readonly headers: IncomingHeaders
  readonly statusMessage: string | undefined
  readonly chunks: Array<Buffer>
}

export class TokenDispatchHandler implements Dispatcher.DispatchHandler {
  readonly #options: TokenDispatchOptions
  readonly #relay = new ControllerRelay((reason) => this.#settle(reason))
  #token: Token | undefined
  #started = false
  #retried = false
  #held: Held | undefined
  #settled = false

  constructor(options: TokenDispatchOptions) {
    this.#options = options
  }

  /** Dispatches the request with `token`; returns what the dispatcher returned. */
  send(token: Token): boolean {
    this.#token = token
    const opts = { ...this.#options.opts, headers: withAuthorization(this.#options.opts.headers, bearer(token)) }
    try {
      return this.#options.dispatch(opts, this)
    } catch (error) {
      this.fail(error)
      return true
    }
  }

  /** Ends the request with `error` (no token could be had, or the report failed). */
  fail(error: unknown): void {
    this.#settle(error instanceof Error ? error : new Error(String(error)))
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#relay.attach(controller)
    if (this.#started) return
    this.#started = true
    this.#options.handler.onRequestStart?.(this.#relay, context)
  }

  onRequestUpgrade(_controller: Dispatcher.DispatchController, ...rest: UpgradeRest): void {
    this.#options.handler.onRequestUpgrade?.(this.#relay, ...rest)
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHeaders,
    statusMessage?: string
  ): void {
    if (statusCode === 401 && !this.#retried) {
      this.#held = { headers, statusMessage, chunks: [] }
      return
    }
    this.#options.handler.onResponseStart?.(this.#relay, statusCode, headers, statusMessage)
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#held !== undefined) this.#held.chunks.push(chunk)
    else this.#options.handler.onResponseData?.(this.#relay, chunk)
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHeaders): void {
    const held = this.#held
    const token = this.#token
    if (held === undefined || token === undefined) return this.#options.handler.onResponseEnd?.(this.#relay, trailers)
    this.#held = undefined
    this.#relay.detach()
    this.#options.tokens.reportUnauthorized(token).then(
      (fresh) => this.#afterReport(token, fresh, held, trailers),
      (error: unknown) => this.fail(error)
    )
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#settle(error)
  }

  onBodySent(chunk: Buffer): void {
    if (!this.#retried) this.#options.handler.onBodySent?.(chunk)
  }

  onRequestSent(): void {
    if (!this.#retried) this.#options.handler.onRequestSent?.()
  }

  #afterReport(failed: Token, fresh: Token, held: Held, trailers: IncomingHeaders): void {
    if (this.#settled) return
    if (this.#options.repeatable && isNewer(fresh, failed)) {
      this.#retried = true
      this.send(fresh)
      return
    }
    const { handler } = this.#options
    handler.onResponseStart?.(this.#relay, 401, held.headers, held.statusMessage)
    for (const chunk of held.chunks) handler.onResponseData?.(this.#relay, chunk)
    handler.onResponseEnd?.(this.#relay, trailers)
  }

  /** Tells the caller's handler `error`, once: an abort while reporting and the report's failure can both come. */
  #settle(error: Error): void {
    if (this.#settled) return
    this.#settled = true
    this.#options.handler.onResponseError?.(this.#relay, error)
  }
}

type UpgradeRest = Parameters<NonNullable<Dispatcher.DispatchHandler["onRequestUpgrade"]>> extends
  [unknown, ...infer Rest] ? Rest : never

const bearer = (token: Token): string => `Bearer ${Redacted.value(token.accessToken)}`
