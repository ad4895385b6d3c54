/**
 * Why `tokenbus demo` could not go on with one of its replica processes (it
 * ended before the log line the story waited for): part of the demo's
 * public error type, so it is named here and not only inside the demo.
 */
import { Data } from "effect"

export class DemoReplicaError extends Data.TaggedError("DemoReplicaError")<{ readonly message: string }> {}
