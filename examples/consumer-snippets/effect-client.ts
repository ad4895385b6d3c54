// The same call in Effect code: TokenClient is a service, its errors are typed.
import { TokenClient } from "@tokenbus/client"
import { Effect } from "effect"

export const accounts = Effect.gen(function*() {
  const tokens = yield* TokenClient
  const response = yield* tokens.fetch("project44", "https://na12.api.project44.com/api/v4/capacityproviders/accounts")
  return response.status
}).pipe(Effect.provide(TokenClient.layerConnect({ nats: { servers: ["nats://127.0.0.1:4222"] } })))
