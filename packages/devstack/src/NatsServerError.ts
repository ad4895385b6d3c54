/**
 * Why a local NATS server could not be started: the binary is missing, it
 * exited (a port in use, a bad argument), or it did not become ready and
 * JetStream-healthy in time. The message says which, with the server's last
 * log line when there is one.
 */
import { Data } from "effect"

export class NatsServerError extends Data.TaggedError("NatsServerError")<{ readonly message: string }> {}
