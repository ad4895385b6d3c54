/**
 * `--pretty`, shared by `serve` and `dev`: log lines for a person (pino-pretty)
 * even when stdout is not a terminal (piped through `less`, say). A terminal
 * gets them without the flag; anything else gets JSON lines.
 */
import { Flag } from "effect/cli"

export const prettyFlag = Flag.Boolean("pretty").pipe(
  Flag.withDefault(false),
  Flag.withDescription("Human-readable log lines instead of JSON (the default when stdout is a terminal)")
)
