/**
 * The client could not reach the tokenbus service: NATS is down, or no
 * replica answered (twice, for a request that timed out), and it holds no
 * unexpired token to fall back on. While it holds one, it keeps serving it
 * instead of failing. Also what `TokenbusClient.connect` fails with when NATS
 * cannot be reached at start.
 */
import { Data } from "effect"

export class ServiceUnavailable extends Data.TaggedError("ServiceUnavailable")<{
  /** The provider asked for; absent when the client could not connect at all. */
  readonly provider?: string
  readonly message: string
}> {}
