// Decentralized NATS auth (operator mode) made in the test, as `nsc` would
// make it: an operator, a system account, an application account with
// JetStream, and users of it as `.creds` files (user JWT + NKey seed),
// signed with @nats-io/jwt. The server trusts the operator and holds the
// account JWTs in memory (`resolver: MEMORY`), so no account server is needed.
import {
  Algorithms,
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  type KeyPair,
  type Permissions
} from "@nats-io/jwt"
import type { NatsServerConfig } from "./NatsServerConfig.ts"

const unlimited = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1
}

const v2 = { algorithm: Algorithms.v2 }

export interface NatsOperator {
  /** The server's configuration: operator mode, both accounts preloaded. */
  readonly config: NatsServerConfig
  /** A `.creds` file's content for a new user of the application account. */
  readonly userCreds: (name: string, permissions?: Permissions) => Promise<string>
  /** A `.creds` file's content for a user of an account this server does not know: it is refused. */
  readonly strangerCreds: () => Promise<string>
}

const accountJwt = (name: string, account: KeyPair, operator: KeyPair, jetstream: boolean) =>
  encodeAccount(name, account, jetstream ? { limits: unlimited } : {}, { ...v2, signer: operator })

const credsOf = async (name: string, account: KeyPair, permissions: Permissions = {}) => {
  const user = createUser()
  const jwt = await encodeUser(name, user, account, permissions, v2)
  return new TextDecoder().decode(fmtCreds(jwt, user))
}

/** An operator with a system account and one application account "APP" with JetStream. */
export const makeNatsOperator = async (): Promise<NatsOperator> => {
  const operator = createOperator()
  const system = createAccount()
  const app = createAccount()
  const operatorJwt = await encodeOperator("tokenbus-test", operator, { system_account: system.getPublicKey() }, v2)
  const preload = {
    [system.getPublicKey()]: await accountJwt("SYS", system, operator, false),
    [app.getPublicKey()]: await accountJwt("APP", app, operator, true)
  }
  return {
    config: {
      operator: operatorJwt,
      system_account: system.getPublicKey(),
      resolver: "MEMORY",
      resolver_preload: preload
    },
    userCreds: (name, permissions) => credsOf(name, app, permissions),
    strangerCreds: () => credsOf("stranger", createAccount())
  }
}
