// When tokenbus or NATS is down: wait for NATS at start, answer 503 when no token can be had.
import { TokenbusClient } from "@tokenbus/client"

// Without waitOnFirstConnect, connect rejects at once with ServiceUnavailable while NATS is unreachable.
const tokens = await TokenbusClient.connect({ nats: { servers: ["nats://nats:4222"], waitOnFirstConnect: true } })

export const statusOfAccounts = async (url: string): Promise<number> => {
  try {
    return (await tokens.fetch("project44", url)).status
  } catch (error) {
    // Only when the client holds no unexpired token and no replica answers (twice).
    if ((error as { _tag?: string })._tag === "ServiceUnavailable") return 503
    throw error
  }
}
