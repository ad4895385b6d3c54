/**
 * `request` on the in-memory server, as nats.js does it: the request goes out
 * with an inbox of its own as reply subject and resolves with the first
 * reply; the server answers at once when no subscription matches
 * (`no-responders`); otherwise the request waits for `timeoutMillis` of Clock
 * time. A disconnected client's request is lost on the way (nats.js drops
 * what it buffered while disconnected), so it can only time out; a closed
 * connection fails it, also while it waits, with `connection`.
 */
import { Deferred, Effect } from "effect"
import { NatsRequestError } from "../../NatsError.ts"
import type { ClientLink } from "./ClientLink.ts"
import { publishTokens } from "./SubjectPattern.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const requestVia = (link: ClientLink) =>
(subject: string, payload: string, timeoutMillis: number): Effect.Effect<string, NatsRequestError> =>
  Effect.suspend(() => {
    const failure = (reason: NatsRequestError["reason"], detail: string) =>
      new NatsRequestError({ subject, reason, message: `request on ${subject}: ${reason} (${detail})` })
    // As nats.js: no timeout means its default, a negative one is refused.
    const timeout = timeoutMillis || 1000
    if (link.closed()) return Effect.fail(failure("connection", "the connection is closed"))
    if (publishTokens(subject) === undefined) return Effect.fail(failure("connection", `invalid subject "${subject}"`))
    if (timeout < 1) return Effect.fail(failure("connection", "timeout must be greater than 0"))

    const inbox = link.nextInbox()
    const reply = Deferred.makeUnsafe<string>()
    const remove = link.router.add({
      pattern: inbox.split("."),
      queue: undefined,
      live: link.live,
      deliver: (delivery) => void Deferred.doneUnsafe(reply, Effect.succeed(decoder.decode(delivery.data)))
    })
    if (link.connected() && link.router.route(link.name, subject, encoder.encode(payload), inbox) === 0) {
      remove()
      return Effect.fail(failure("no-responders", "no subscription matches"))
    }
    return Deferred.await(reply).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.fail(failure("timeout", `no reply within ${timeout} ms`))
      }),
      Effect.raceFirst(Effect.andThen(Deferred.await(link.closing), Effect.fail(failure("connection", "closed")))),
      Effect.ensuring(Effect.sync(remove))
    )
  })
