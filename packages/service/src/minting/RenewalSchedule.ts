/**
 * Renewals the leader makes without being asked: on the provider's
 * lifecycle, and when its kind's watch says the token changed outside
 * tokenbus. Each is an ordinary request to the single flight, so it joins a
 * mint under way and waits for the rate budget like any other.
 */
import { type Lifecycle, renewalDueAt } from "@tokenbus/core"
import { Clock, Effect, Random, Stream } from "effect"
import type { ConfiguredProvider } from "../config/ConfiguredProvider.ts"
import type { FencedState } from "../leadership/FencedState.ts"
import type { Serve } from "./SingleFlight.ts"

/**
 * The longest the renewal loop sleeps before it looks at the wall clock again (its plan is in wall-clock
 * time, its sleep is not). Otherwise it sleeps until the renewal is due or the state changes: a leader of
 * thousands of providers must not wake for each of them every second.
 */
const renewalRecheckMillis = 60_000

/** After the n-th failed renewal in a row: 2 s, 4 s, 8 s... up to 5 minutes. */
const retryDelayMillis = (failures: number): number => Math.min(300_000, 1_000 * 2 ** failures)

const logFailure = (message: string) => (error: { readonly message: string }) =>
  Effect.logWarning(message).pipe(Effect.annotateLogs({ error: error.message }))

/** Each token's renewal moment is drawn once (with jitter), when the leader first sees it. */
export const renewOnSchedule = (state: FencedState, serve: Serve, lifecycle: Lifecycle) =>
  Effect.gen(function*() {
    let planned: { readonly version: number; readonly dueAt: number | undefined; readonly failures: number } | undefined
    while (true) {
      const seen = yield* state.snapshot
      const { token } = seen
      if (token !== undefined && planned?.version !== token.version) {
        planned = { version: token.version, dueAt: renewalDueAt(lifecycle, token, yield* Random.next), failures: 0 }
      }
      const now = yield* Clock.currentTimeMillis
      if (planned?.dueAt !== undefined && now >= planned.dueAt) {
        const renewed = yield* serve({ _tag: "Proactive", version: planned.version }, "proactive").pipe(Effect.result)
        if (renewed._tag === "Failure") {
          // A renewal that failed (the breaker holds, the upstream is down) is tried again later and later,
          // not every tick: each try is a warning line and, past the breaker, an upstream call.
          const failures = planned.failures + 1
          yield* logFailure("proactive renewal failed")(renewed.failure).pipe(Effect.annotateLogs({ failures }))
          planned = { ...planned, failures, dueAt: now + retryDelayMillis(failures) }
        }
      }
      const wait = planned?.dueAt === undefined ? renewalRecheckMillis : planned.dueAt - now
      // A token committed meanwhile (a 401's mint, an operator's) is planned at once: it may be due sooner.
      yield* Effect.raceFirst(Effect.sleep(Math.max(100, Math.min(renewalRecheckMillis, wait))), state.changed(seen))
    }
  })

/** The token changed outside tokenbus (a static token's file): commit what it is now. */
export const followWatch = (provider: ConfiguredProvider, serve: Serve, state: FencedState) =>
  Effect.gen(function*() {
    const { token } = yield* state.snapshot
    yield* provider.watch(token?.accessToken).pipe(
      Stream.runForEach(() =>
        serve({ _tag: "Operator" }, "operator").pipe(
          Effect.catch(logFailure("the token changed but cannot be read")),
          // Its audit line says what asked: an operator's hand on the file, not `tokenbus reset`.
          Effect.annotateLogs({ trigger: "token-file-changed" })
        )
      )
    )
  })
