/**
 * The local NATS server of @tokenbus/devstack (a nats-server child process
 * with JetStream on 127.0.0.1) for code that is not Effect code: vitest's
 * globalSetup. The same module starts the bench's NATS and `tokenbus dev`'s,
 * so all three run on a server started the same way.
 */
import { acquireNatsServer, type NatsServerOptions, type NatsServerProcess } from "@tokenbus/devstack"
import { Cause, Effect, Exit, Scope } from "effect"

export interface LocalNatsServer extends NatsServerProcess {
  /** Stops the server and removes its store. Safe to call more than once. */
  readonly stop: () => Promise<void>
}

/** Resolves once the server is ready and JetStream healthy; rejects with a NatsServerError otherwise. */
export const startNatsServer = async (options: NatsServerOptions = {}): Promise<LocalNatsServer> => {
  const scope = Scope.makeUnsafe()
  const close = () => Effect.runPromise(Scope.close(scope, Exit.void))
  const started = await Effect.runPromiseExit(acquireNatsServer(options).pipe(Scope.provide(scope)))
  if (Exit.isSuccess(started)) return { ...started.value, stop: close }
  await close()
  throw Cause.squash(started.cause)
}
