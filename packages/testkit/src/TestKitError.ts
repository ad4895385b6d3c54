/**
 * Why a kit could not start, be controlled or stop, as one message a test
 * runner shows as it is: the step that failed (Docker, the NATS image, the
 * container, the simulated upstream, the service, its replicas) and what to
 * do about it. `cause` keeps the original error for a closer look.
 */
import { Data } from "effect"

export type TestKitStep = "options" | "docker" | "image" | "nats" | "upstream" | "service" | "replicas" | "stop"

export class TestKitError extends Data.TaggedError("TestKitError")<{
  readonly step: TestKitStep
  readonly message: string
  readonly cause?: unknown
}> {}

/** The message of anything thrown, for error text. */
export const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))
