// A fake NATS server whose user has limited permissions (FakeNatsServer): it
// refuses a PUB to a subject the test denies and a SUB to the reply inboxes
// when the test denies those, as nats-server does, and answers a permitted
// request by echoing its payload to the reply subject.
import { fakeNatsServer } from "../../src/testing/FakeNatsServer.ts"

export interface Denials {
  /** Subjects a PUB to is refused. */
  readonly publish: ReadonlyArray<string>
  /** Refuse every SUB under `_INBOX.` (where nats.js receives the replies to its requests). */
  readonly inboxes: boolean
}

/** Listens on 127.0.0.1 until the scope closes. */
export const permissionedNatsServer = (denials: Denials) =>
  fakeNatsServer({
    denyPublish: denials.publish,
    denySubscribe: (subject) => denials.inboxes && subject.startsWith("_INBOX.")
  })
