// Credentials and TLS as the connection hands them to nats.js. Against a
// server that asks for credentials and refuses them (RefusingNatsServer):
// what nats.js sent for each method (user and password, token, an NKey's
// signature of the server's nonce, a `.creds` file's JWT and signature), and
// that the refusal is a NatsConnectError saying so, with no secret in it.
// A credential or TLS setting no server could accept fails before any dial.
import { inspect } from "node:util"
import { nkeys } from "@nats-io/transport-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { authConnectOptions } from "../src/internal/AuthOptions.ts"
import { type NatsAuth, natsAuth, type NatsAuthInput, natsTlsProblem } from "../src/NatsAuth.ts"
import { NatsConnection, type NatsConnectionOptions } from "../src/NatsConnection.ts"
import { NONCE, refusingNatsServer } from "./support/RefusingNatsServer.ts"

const PASSWORD = "password-3f9a1c77d2"
const TOKEN = "token-b81e40aa95"
const user = nkeys.createUser()
const SEED = new TextDecoder().decode(user.getSeed())
const JWT = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"
const CREDS = [
  "-----BEGIN NATS USER JWT-----",
  JWT,
  "------END NATS USER JWT------",
  "",
  "-----BEGIN USER NKEY SEED-----",
  SEED,
  // Trimmed after its last line, as a secret read from a file is.
  "------END USER NKEY SEED------"
].join("\n")
const SECRETS = [PASSWORD, TOKEN, SEED]

const expectNoSecret = (text: string) => {
  const leaked = SECRETS.filter((secret) => text.includes(secret)).length
  assert.strictEqual(leaked, 0, "a secret appears in the text")
}

/** The connect error of a connection with `options`. */
const connectError = (options: Omit<NatsConnectionOptions, "name">) =>
  Effect.scoped(Layer.build(NatsConnection.layer({ name: "auth-test", ...options }))).pipe(Effect.flip)

/** nats.js signs the server's nonce with the NKey: the signature must verify with the public key it sent. */
const assertSignedNonce = (connect: Record<string, unknown>) => {
  assert.strictEqual(connect["nkey"], user.getPublicKey())
  const signature = nkeys.decode(String(connect["sig"]))
  assert.isTrue(nkeys.fromPublic(user.getPublicKey()).verify(new TextEncoder().encode(NONCE), signature))
}

describe("natsAuth", () => {
  const inputs: ReadonlyArray<readonly [NatsAuthInput, string]> = [
    [{ user: "svc", password: PASSWORD }, PASSWORD],
    [{ token: Redacted.make(TOKEN) }, TOKEN],
    [{ nkeySeed: SEED }, SEED],
    [{ creds: CREDS }, SEED]
  ]

  it("holds every secret Redacted, whether given as a string or Redacted, and prints none", () => {
    for (const [input, secret] of inputs) {
      const auth = natsAuth(input)
      const held = Object.values(auth).find(Redacted.isRedacted)
      assert.isDefined(held, `no Redacted secret in ${Object.keys(auth).join(",")}`)
      const value = Redacted.value(held as Redacted.Redacted<string>)
      assert.isTrue(value.includes(secret), "the secret held is not the one given")
      expectNoSecret(`${JSON.stringify(auth)} ${inspect(auth, { depth: null })} ${String(held)}`)
    }
  })

  it("hands nats.js options that hold no secret, only functions reading it", () => {
    for (const [input] of inputs) {
      const options = authConnectOptions(natsAuth(input), { caFile: "/etc/ca.pem" })
      assert.isFunction(options.authenticator)
      assert.deepStrictEqual(options.tls, { caFile: "/etc/ca.pem" })
      expectNoSecret(`${JSON.stringify(options)} ${inspect(options, { depth: null })}`)
    }
  })
})

describe("natsTlsProblem", () => {
  it("refuses a certificate without its key and a key without its certificate", () => {
    assert.match(natsTlsProblem({ certFile: "client.pem" }) ?? "", /certFile and keyFile go together/)
    assert.match(natsTlsProblem({ keyFile: "client.key", caFile: "ca.pem" }) ?? "", /certFile and keyFile go together/)
    assert.isUndefined(natsTlsProblem({}))
    assert.isUndefined(natsTlsProblem({ caFile: "ca.pem" }))
    assert.isUndefined(natsTlsProblem({ certFile: "client.pem", keyFile: "client.key" }))
  })
})

describe("a server that refuses the credential", () => {
  const refusedWith = (auth: NatsAuth | undefined) =>
    Effect.gen(function*() {
      const server = yield* refusingNatsServer
      const error = yield* connectError({ servers: [server.url], ...(auth === undefined ? {} : { auth }) })
      assert.strictEqual(error._tag, "NatsConnectError")
      assert.include(error.message, `cannot connect to NATS at ${server.url}: `)
      expectNoSecret(`${error.message} ${inspect(error, { depth: 0 })}`)
      const connect = server.connects()[0]
      assert.isDefined(connect, "nats.js sent no CONNECT")
      return { message: error.message, connect: connect ?? {} }
    })

  it.live("is sent the user and password, and the refusal names the user, not the password", () =>
    Effect.gen(function*() {
      const { connect, message } = yield* refusedWith(natsAuth({ user: "svc", password: PASSWORD }))
      assert.strictEqual(connect["user"], "svc")
      // Compared, not printed: a failure must not show the secret.
      assert.isTrue(connect["pass"] === PASSWORD, "the password sent is not the one given")
      assert.match(message, /the server refused the user svc with password credential \(authorization violation\)$/)
    }))

  it.live("is sent the token", () =>
    Effect.gen(function*() {
      const { connect, message } = yield* refusedWith(natsAuth({ token: TOKEN }))
      assert.isTrue(connect["auth_token"] === TOKEN, "the token sent is not the one given")
      assert.match(message, /the server refused the token credential \(authorization violation\)$/)
    }))

  it.live("is sent the NKey's public key and its signature of the server's nonce, never the seed", () =>
    Effect.gen(function*() {
      const { connect, message } = yield* refusedWith(natsAuth({ nkeySeed: `${SEED}\n` }))
      assertSignedNonce(connect)
      assert.isFalse(JSON.stringify(connect).includes(SEED), "the seed was sent")
      assert.match(message, /the server refused the NKey seed credential \(authorization violation\)$/)
    }))

  it.live("is sent the .creds file's JWT and the signature of its seed", () =>
    Effect.gen(function*() {
      const { connect, message } = yield* refusedWith(natsAuth({ creds: CREDS }))
      assert.strictEqual(connect["jwt"], JWT)
      assertSignedNonce(connect)
      assert.match(message, /the server refused the creds credential \(authorization violation\)$/)
    }))

  it.live("tells a connection without a credential that the server asks for one", () =>
    Effect.gen(function*() {
      const { message } = yield* refusedWith(undefined)
      assert.match(message, /the server asks for credentials and none were given \(authorization violation\)/)
    }))

  it.live("shows a server URL with credentials in it without them", () =>
    Effect.gen(function*() {
      const server = yield* refusingNatsServer
      const url = server.url.replace("nats://", `nats://svc:${PASSWORD}@`)
      const error = yield* connectError({ servers: [url] })
      assert.include(error.message, `cannot connect to NATS at ${server.url.replace("nats://", "nats://<redacted>@")}`)
      expectNoSecret(error.message)
    }))
})

describe("a setting no server could accept", () => {
  const failsBeforeDialling = (options: Pick<NatsConnectionOptions, "auth" | "tls">, expected: RegExp) =>
    Effect.gen(function*() {
      const server = yield* refusingNatsServer
      const error = yield* connectError({ servers: [server.url], ...options })
      assert.match(error.message, expected)
      expectNoSecret(error.message)
      assert.strictEqual(server.connects().length, 0, "it dialled the server")
    })

  it.live("a malformed NKey seed fails at once, naming the method and not the seed", () =>
    failsBeforeDialling(
      { auth: natsAuth({ nkeySeed: SEED.slice(0, -3) }) },
      /nats\.auth: the NKey seed credential is not a user NKey seed \(SU\.\.\.\)/
    ))

  it.live("a .creds content without its blocks fails at once", () =>
    failsBeforeDialling(
      { auth: natsAuth({ creds: SEED }) },
      /nats\.auth: the creds credential is not the content of a \.creds file/
    ))

  it.live("a client certificate without its key fails at once", () =>
    failsBeforeDialling(
      { tls: { certFile: "/etc/tokenbus/client.pem" } },
      /nats\.tls: certFile and keyFile go together/
    ))

  it.live("a CA file that cannot be read fails at once, naming it", () =>
    failsBeforeDialling(
      { tls: { caFile: "/nonexistent/tokenbus-ca.pem" } },
      /nats\.tls\.caFile: cannot read \/nonexistent\/tokenbus-ca\.pem/
    ))
})
