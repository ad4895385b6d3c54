// A replica as Replica.layer runs it (its parts, a member leading its share),
// built from Replica.parts so that a test can reach one replica's own
// parts: its cache, its responder and its questions to the leader, which a
// request through the queue group would hand to any replica.
import { type MemoryNats } from "@tokenbus/nats/testing"
import { Context, Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import type { ServiceConfig } from "../../src/config/ServiceConfig.ts"
import { AskLeader } from "../../src/replica/AskLeader.ts"
import * as Replica from "../../src/replica/Replica.ts"
import { ReplicaContext } from "../../src/replica/ReplicaContext.ts"
import { Responder } from "../../src/replica/Responder.ts"

/** Starts replica `id` of `config` until the calling scope closes; its parts. */
export const startReplicaParts = (nats: MemoryNats, config: ServiceConfig, id: string) =>
  Effect.gen(function*() {
    const connection = yield* nats.connection(id)
    const parts = yield* Layer.build(
      Replica.parts(config, id).pipe(Layer.provide([connection.layer, FetchHttpClient.layer]))
    )
    yield* Replica.joinAndLead.pipe(Effect.provideContext(parts))
    return {
      id,
      connection,
      cache: Context.get(parts, ReplicaContext).cache,
      responder: Context.get(parts, Responder),
      askLeader: Context.get(parts, AskLeader)
    }
  })
