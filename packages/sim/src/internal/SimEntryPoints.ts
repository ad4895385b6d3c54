/**
 * The two public ways to start a simulator, alike for all of them: a promise,
 * for plain tests and scripts, and a scoped Effect that closes the server with
 * its scope. Both resolve the options before listening, so invalid options are
 * a RangeError (a rejection, or a defect: they are programming mistakes) and
 * only a failure to listen, such as a port in use, is the sim's typed error.
 */
import { Effect, type Scope } from "effect"

export interface SimEntryPoints<Options, Sim, ListenError> {
  readonly start: (options: Options) => Promise<Sim>
  readonly acquire: (options: Options) => Effect.Effect<Sim, ListenError, Scope.Scope>
}

export const simEntryPoints = <Options, Config, Sim extends { close(): Promise<void> }, ListenError>(
  resolveConfig: (options: Options) => Config,
  listen: (config: Config) => Promise<Sim>,
  listenError: (cause: unknown) => ListenError
): SimEntryPoints<Options, Sim, ListenError> => ({
  // Async, so that a RangeError from resolving rejects instead of throwing.
  start: async (options) => listen(resolveConfig(options)),
  acquire: (options) =>
    Effect.acquireRelease(
      Effect.sync(() => resolveConfig(options)).pipe(
        Effect.flatMap((config) => Effect.tryPromise({ try: () => listen(config), catch: listenError }))
      ),
      (sim) => Effect.promise(() => sim.close())
    )
})
