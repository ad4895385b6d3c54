/**
 * The baseline responder of scenario 1, run as its own process so that it is
 * comparable to a replica process: a bare nats.js queue subscription that
 * answers every request with a fixed payload as long as a token reply. Its
 * connection has the options a replica's has (acquireRawConnection.ts); what
 * it lacks is everything tokenbus does per request (subject parsing, the
 * provider check, the cache lookup).
 *
 * usage: node bench/src/bin/echo.ts <nats url> <subject> <queue> <reply bytes> <name>
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { acquireRawConnection } from "../acquireRawConnection.ts"

const [url, subject, queue, bytes, name] = process.argv.slice(2)
if (url === undefined || subject === undefined || queue === undefined || bytes === undefined || name === undefined) {
  console.error("usage: echo.ts <nats url> <subject> <queue> <reply bytes> <name>")
  process.exit(2)
}
const reply = "x".repeat(Number(bytes))

const program = Effect.gen(function*() {
  const nc = yield* acquireRawConnection({ url, name, waitOnFirstConnect: true })
  const subscription = nc.subscribe(subject, {
    queue,
    callback: (error, message) => {
      if (error === null) message.respond(reply)
    }
  })
  yield* Effect.addFinalizer(() => Effect.promise(() => subscription.drain().catch(() => undefined)))
  yield* Effect.promise(() => nc.flush())
  yield* Console.log("ready")
  return yield* Effect.never
}).pipe(Effect.scoped)

NodeRuntime.runMain(program)
