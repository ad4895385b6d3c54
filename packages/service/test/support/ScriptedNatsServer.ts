// A fake NATS server (FakeNatsServer) that answers every request with what
// the test's `answer` returns for its subject and payload. So a command that
// opens its own NATS connection (`tokenbus get`) runs whole, nats.js
// included, against replies the test writes: signed, unsigned or forged.
import { type FakeAnswer, fakeNatsServer } from "@tokenbus/nats/testing"

/** The reply to a request on `subject`; undefined leaves it unanswered. */
export type Answer = FakeAnswer

/** Listens on 127.0.0.1 until the scope closes. */
export const scriptedNatsServer = (answer: Answer) => fakeNatsServer({ answer })
