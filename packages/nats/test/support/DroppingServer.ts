// A TCP server that counts connections and closes each as soon as it opens,
// as a port whose NATS is restarting does.
import { Effect } from "effect"
import { localListener } from "../../src/testing/internal/LocalListener.ts"

export interface DroppingServer {
  readonly url: string
  readonly accepted: () => number
}

/** Listens on 127.0.0.1 until the scope closes. */
export const droppingServer = Effect.suspend(() => {
  let accepted = 0
  return localListener((socket) => {
    accepted += 1
    socket.destroy()
  }).pipe(Effect.map((url): DroppingServer => ({ url, accepted: () => accepted })))
})
