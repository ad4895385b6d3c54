// The ways a production NATS secures its clients, each as a test needs it:
// the nats-server configuration that requires it, the `nats` section of a
// replica's configuration file that meets it (secrets by `{env}`/`{file}`,
// as an operator writes them), the client options that meet it, and client
// options that must be refused, with what the refusal says. Secrets are
// random per run and listed, so a test can check none of them leaks.
import { randomBytes } from "node:crypto"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { nkeys } from "@nats-io/transport-node"
import type { ClientNatsOptions } from "@tokenbus/client"
import { Redacted } from "effect"
import { makeNatsOperator } from "./NatsOperator.ts"
import { type NatsServerConfig, tlsConfig, tokenAuthorization, usersAuthorization } from "./NatsServerConfig.ts"
import { makeTestCertificates } from "./TestCertificates.ts"

type ClientSecurity = Pick<ClientNatsOptions, "auth" | "tls">

export interface SecuredNats {
  readonly server: NatsServerConfig
  /** Fields of a replica's `nats` section. */
  readonly replicaNats: Readonly<Record<string, unknown>>
  /** The environment the replica's secret references read. */
  readonly env: Readonly<Record<string, string>>
  readonly client: ClientSecurity
  /** Its credential or certificate is wrong: the server refuses it. Secrets in it are plain strings. */
  readonly wrong: ClientSecurity
  /** What the refusal of `wrong` says. */
  readonly refusal: RegExp
  /** Every secret of the method, the wrong ones included, by name. */
  readonly secrets: Readonly<Record<string, string>>
  /** For `.creds` auth, the files the right and the wrong credential are in. */
  readonly credsFiles?: { readonly right: string; readonly wrong: string }
  /** Removes the files it wrote. */
  readonly remove: () => Promise<void>
}

const secret = (label: string) => `${label}-${randomBytes(16).toString("hex")}`

const decoder = new TextDecoder()

const refused = (method: string) => new RegExp(`refused the ${method} credential \\(authorization violation\\)`)

const tempDir = () => mkdtemp(join(tmpdir(), "tokenbus-secured-nats-"))

export const userPassword = async (): Promise<SecuredNats> => {
  const password = secret("password")
  const wrong = secret("wrong-password")
  return {
    server: usersAuthorization([{ user: "tokenbus", password }]),
    replicaNats: { auth: { user: "tokenbus", password: { env: "NATS_PASSWORD" } } },
    env: { NATS_PASSWORD: password },
    client: { auth: { user: "tokenbus", password } },
    wrong: { auth: { user: "tokenbus", password: wrong } },
    refusal: refused("user tokenbus with password"),
    secrets: { password, "the wrong password": wrong },
    remove: async () => undefined
  }
}

export const token = async (): Promise<SecuredNats> => {
  const value = secret("token")
  const wrong = secret("wrong-token")
  return {
    server: tokenAuthorization(value),
    replicaNats: { auth: { token: { env: "NATS_TOKEN" } } },
    env: { NATS_TOKEN: value },
    // As a Redacted value, the other form a client may give.
    client: { auth: { token: Redacted.make(value) } },
    wrong: { auth: { token: wrong } },
    refusal: refused("token"),
    secrets: { token: value, "the wrong token": wrong },
    remove: async () => undefined
  }
}

export const nkey = async (): Promise<SecuredNats> => {
  const user = nkeys.createUser()
  const seed = decoder.decode(user.getSeed())
  const wrong = decoder.decode(nkeys.createUser().getSeed())
  const dir = await tempDir()
  const seedFile = join(dir, "tokenbus.nk")
  await writeFile(seedFile, `${seed}\n`)
  return {
    server: usersAuthorization([{ nkey: user.getPublicKey() }]),
    replicaNats: { auth: { nkeySeed: { file: seedFile } } },
    env: {},
    client: { auth: { nkeySeed: seed } },
    wrong: { auth: { nkeySeed: wrong } },
    refusal: refused("NKey seed"),
    secrets: { "the NKey seed": seed, "the wrong NKey seed": wrong },
    remove: () => rm(dir, { recursive: true, force: true })
  }
}

/** The seed line of a `.creds` file, the part that is secret. */
const seedOf = (creds: string): string => creds.match(/^SU[A-Z0-9]+$/m)?.[0] ?? "no seed found"

export const jwtCreds = async (): Promise<SecuredNats> => {
  const operator = await makeNatsOperator()
  const creds = await operator.userCreds("tokenbus")
  const stranger = await operator.strangerCreds()
  const dir = await tempDir()
  const credsFile = join(dir, "tokenbus.creds")
  const strangerFile = join(dir, "stranger.creds")
  await writeFile(credsFile, creds)
  await writeFile(strangerFile, stranger)
  return {
    server: operator.config,
    replicaNats: { auth: { creds: { file: credsFile } } },
    env: {},
    client: { auth: { creds } },
    wrong: { auth: { creds: stranger } },
    refusal: refused("creds"),
    secrets: { "the user's NKey seed": seedOf(creds), "the stranger's NKey seed": seedOf(stranger) },
    credsFiles: { right: credsFile, wrong: strangerFile },
    remove: () => rm(dir, { recursive: true, force: true })
  }
}

export const tlsWithCa = async (): Promise<SecuredNats> => {
  const certificates = await makeTestCertificates()
  return {
    server: tlsConfig(certificates.server),
    replicaNats: { tls: { caFile: certificates.caFile } },
    env: {},
    client: { tls: { caFile: certificates.caFile } },
    // The system's CAs do not know the test CA.
    wrong: { tls: {} },
    refusal: /TLS failed \(.*certificate.*\): check nats\.tls/,
    secrets: {},
    remove: certificates.remove
  }
}

export const mutualTls = async (): Promise<SecuredNats> => {
  const certificates = await makeTestCertificates()
  const { caFile, client, server, strangerClient } = certificates
  return {
    server: tlsConfig({ ...server, caFile, verify: true }),
    replicaNats: { tls: { caFile, ...client } },
    env: {},
    client: { tls: { caFile, ...client } },
    wrong: { tls: { caFile, ...strangerClient } },
    refusal: /as when the server refuses the client certificate .*stranger-client\.pem/,
    secrets: {},
    remove: certificates.remove
  }
}

type Method = readonly [name: string, make: () => Promise<SecuredNats>]

export const credsMethodName = "a JWT .creds file"

/** The methods that ask for a credential: a client without one is refused. */
export const credentialMethods: ReadonlyArray<Method> = [
  ["user and password", userPassword],
  ["a token", token],
  ["an NKey", nkey],
  [credsMethodName, jwtCreds]
]

/** TLS alone asks for no credential. */
export const tlsMethods: ReadonlyArray<Method> = [["TLS with a CA", tlsWithCa], ["mutual TLS", mutualTls]]
