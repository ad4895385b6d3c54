/**
 * `tokenbus serve`'s reloads: each SIGHUP reads the configuration file again
 * (the same `--config` or `TOKENBUS_CONFIG`, its secrets resolved afresh),
 * as the convention of daemons and of a Kubernetes ConfigMap update followed
 * by a signal has it. A file that does not decode is refused with one log
 * line saying why, and the replica carries on with what it serves.
 */
import { Effect, Option, Queue, Stream } from "effect"
import type { ServiceConfig } from "../config/ServiceConfig.ts"
import { loadConfig } from "./ConfigSource.ts"

/** SIGHUPs to this process, from when the stream is run until it ends. */
const sighups: Stream.Stream<void> = Stream.callback<void>((queue) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const onSignal = () => void Queue.offerUnsafe(queue, undefined)
      process.on("SIGHUP", onSignal)
      return onSignal
    }),
    (onSignal) => Effect.sync(() => void process.off("SIGHUP", onSignal))
  )
)

/** The configuration read again on every SIGHUP; a refused one is logged and skipped. */
export const sighupReloads = (flag: Option.Option<string>): Stream.Stream<ServiceConfig> =>
  sighups.pipe(
    Stream.flatMap(() =>
      Stream.fromEffect(loadConfig(flag)).pipe(
        Stream.catch((error) =>
          Stream.fromEffect(
            Effect.logError("reload refused: the configuration kept in use").pipe(
              Effect.annotateLogs({ error: error.message })
            )
          ).pipe(Stream.drain)
        )
      )
    )
  )
