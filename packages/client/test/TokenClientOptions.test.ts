// The connection a client opens from its `nats` options: `auth` given with
// plain strings comes out `Redacted` (a Redacted one is kept as it is), so
// the options print no secret from there on; `tls` and the rest pass as
// given; the older flat options still work.
import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { natsOptionsOf } from "../src/TokenClientOptions.ts"

const PASSWORD = "client-nats-password-2b7d"
const SEED = "SUAKJESHSNRWFW3C4SAPBZ4RZVXKNRBDDYPQIBPEIL3XHDBR4C6PTIWTGQ"

describe("natsOptionsOf", () => {
  it("holds a password given as a string Redacted, and prints none", () => {
    const options = natsOptionsOf({
      nats: { servers: ["tls://nats:4222"], auth: { user: "svc", password: PASSWORD }, tls: { caFile: "/ca.pem" } }
    })
    const auth = options.auth
    if (auth === undefined || !("password" in auth)) return assert.fail("no user and password")
    assert.strictEqual(auth.user, "svc")
    assert.isTrue(Redacted.isRedacted(auth.password))
    assert.isTrue(Redacted.value(auth.password) === PASSWORD, "the password is not the one given")
    assert.deepStrictEqual(options.tls, { caFile: "/ca.pem" })
    assert.strictEqual(options.name, "tokenbus-client")
    assert.isFalse(`${JSON.stringify(options)} ${inspect(options, { depth: null })}`.includes(PASSWORD))
  })

  it("keeps a Redacted secret as given", () => {
    const seed = Redacted.make(SEED)
    const nats = { servers: ["nats://nats:4222"], name: "billing", auth: { nkeySeed: seed } }
    const options = natsOptionsOf({ nats })
    const held = options.auth !== undefined && "nkeySeed" in options.auth ? options.auth.nkeySeed : undefined
    assert.strictEqual(held, seed)
    assert.strictEqual(options.name, "billing")
  })

  it("opens the flat options' connection without a credential", () => {
    const options = natsOptionsOf({ servers: ["nats://nats:4222"], name: "legacy" })
    assert.deepStrictEqual(options, { servers: ["nats://nats:4222"], name: "legacy" })
  })
})
