/**
 * The one `DispatchController` an undici handler sees for a request that may
 * be sent twice: each attempt has a controller of its own, and the relay
 * forwards pause, resume and abort to the current one, so back-pressure and
 * an abort reach the retry too. An abort while no attempt is under way (the
 * 401 is being reported) is told to `onIdleAbort`, since no controller would
 * carry it.
 */
import type { Dispatcher } from "undici"

export class ControllerRelay implements Dispatcher.DispatchController {
  #target: Dispatcher.DispatchController | undefined
  #active = false
  #paused = false
  #reason: Error | null = null
  readonly #onIdleAbort: (reason: Error) => void

  constructor(onIdleAbort: (reason: Error) => void) {
    this.#onIdleAbort = onIdleAbort
  }

  /** An attempt started with `controller`. */
  attach(controller: Dispatcher.DispatchController): void {
    this.#target = controller
    this.#active = true
    if (this.#paused) controller.pause()
  }

  /** The current attempt is over; a later abort has nobody to reach but `onIdleAbort`. */
  detach(): void {
    this.#active = false
  }

  get aborted(): boolean {
    return this.#reason !== null || (this.#target?.aborted ?? false)
  }

  get paused(): boolean {
    return this.#paused
  }

  get reason(): Error | null {
    return this.#reason ?? this.#target?.reason ?? null
  }

  abort(reason: Error): void {
    if (this.#reason !== null) return
    this.#reason = reason
    if (this.#active) this.#target?.abort(reason)
    else this.#onIdleAbort(reason)
  }

  pause(): void {
    this.#paused = true
    this.#target?.pause()
  }

  resume(): void {
    this.#paused = false
    this.#target?.resume()
  }
}
