/**
 * One line of `tokenbus watch` for a person, per event of
 * status/StatusEvent.ts: when, which provider, what happened. `--json`
 * prints the event itself instead, one JSON object a line.
 */
import type { StatusEvent } from "../status/StatusEvent.ts"

const what = (event: StatusEvent): string => {
  switch (event.event) {
    case "token":
      return `new token, version ${event.version} (${event.reason})` +
        (event.expiresAt === null ? "" : `, expires ${event.expiresAt}`)
    case "leader":
      return `led by ${event.replica}, term ${event.term}` +
        (event.previous === null ? "" : ` (was ${event.previous.replica}, term ${event.previous.term})`)
    case "breaker":
      return event.open ? `breaker OPEN: ${event.reason ?? ""}` : "breaker closed"
    case "budget":
      return event.blockedUntil !== null
        ? `budget blocked until ${event.blockedUntil}`
        : `budget ${event.left} of ${event.tokens} left` + (event.left > 0 ? "" : `, next at ${event.nextAt}`)
    case "removed":
      return "state removed from KV"
  }
}

export const eventLine = (event: StatusEvent): string => `${event.at}  ${event.provider}  ${what(event)}`
