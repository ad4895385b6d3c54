/**
 * Registers a `MicroServiceOptions` with `@nats-io/services` on a raw
 * connection, for as long as the scope lasts; closing it stops the service
 * (its `$SRV` and endpoint subscriptions go). That library is built against
 * its own copy of nats.js's core types, which match the connection's at run
 * time, hence the one cast.
 */
import { Svcm } from "@nats-io/services"
import type { NatsConnection as RawConnection } from "@nats-io/transport-node"
import { Effect, type Scope } from "effect"
import type { MicroServiceOptions } from "../MicroService.ts"
import { NatsServiceError } from "../NatsError.ts"

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

export const addService = (
  raw: RawConnection,
  options: MicroServiceOptions
): Effect.Effect<void, NatsServiceError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const service = await new Svcm(raw as unknown as ConstructorParameters<typeof Svcm>[0]).add({
          name: options.name,
          version: options.version,
          description: options.description,
          metadata: { ...options.metadata }
        })
        for (const endpoint of options.endpoints) {
          service.addEndpoint(endpoint.name, {
            subject: endpoint.subject,
            ...(endpoint.queue === undefined ? {} : { queue: endpoint.queue }),
            ...(endpoint.metadata === undefined ? {} : { metadata: { ...endpoint.metadata } }),
            handler: (error, message) => {
              if (error === null) message.respond(endpoint.handle(message))
            }
          })
        }
        return service
      },
      catch: (cause) =>
        new NatsServiceError({
          service: options.name,
          message: `cannot register the NATS service ${options.name}: ${messageOf(cause)}`,
          cause
        })
    }),
    (service) => Effect.promise(() => service.stop().catch(() => null)).pipe(Effect.timeout(2_000), Effect.ignore)
  ).pipe(Effect.asVoid)
