/**
 * The client could not reach the tokenbus service and holds no token to fall
 * back on. While it holds one, it keeps serving it instead of failing.
 */
import { Data } from "effect"

export class ServiceUnavailable extends Data.TaggedError("ServiceUnavailable")<{
  readonly provider: string
  readonly message: string
}> {}
