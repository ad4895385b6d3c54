/**
 * Why the service cannot start with the configuration it was given. The
 * message names the field and what is wrong with it, and is all an operator
 * sees, so it must be enough to fix the file.
 */
import { Data } from "effect"

export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly message: string
}> {}
