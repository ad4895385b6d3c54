/**
 * Waiting for JetStream, not just for the server. nats-server logs "Server is
 * ready" before JetStream can answer (in a cluster, before it has a meta
 * leader), and replicas open their KV buckets at once, so the kit polls the
 * monitor's `/healthz?js-enabled-only=true` until it answers 200.
 */
import { messageOf, TestKitError } from "../TestKitError.ts"

const POLL_MILLIS = 100

export const waitForJetStream = async (monitorPort: number, timeoutMillis: number): Promise<void> => {
  const url = `http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`
  const deadline = Date.now() + timeoutMillis
  let last = "no answer yet"
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      if (response.ok) return
      last = `HTTP ${response.status} ${(await response.text()).trim()}`
    } catch (error) {
      last = messageOf(error)
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MILLIS))
  }
  throw new TestKitError({
    step: "nats",
    message: `JetStream did not become healthy within ${timeoutMillis} ms at ${url} (last answer: ${last})`
  })
}
