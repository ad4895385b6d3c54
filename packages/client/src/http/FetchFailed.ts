/**
 * `fetch` itself failed (the connection was refused, the request could not
 * be built): no response to hand back, so `TokenClient.fetch` fails with this.
 */
import { Schema } from "effect"

export class FetchFailed extends Schema.TaggedError<FetchFailed>()("FetchFailed", {
  url: Schema.String,
  message: Schema.String
}) {}
