// A nats-server of a test's own, started from a configuration the test
// gives: authorization (users, tokens, NKeys), accounts with permissions,
// operator mode (see NatsOperator.ts), TLS (see TestCertificates.ts). Its
// configuration format is a superset of JSON, so a configuration is written
// as an object here and the builders below give the blocks tests need; the
// server is started as PermissionedNatsServer.ts starts one (JetStream,
// 127.0.0.1, a free port), the file passed with `-c`.
import { startPermissionedNatsServer } from "./PermissionedNatsServer.ts"

/** A nats-server configuration as an object (its format takes JSON). */
export type NatsServerConfig = { readonly [key: string]: unknown }

export interface ConfiguredNatsServer {
  /** nats://127.0.0.1:<port> */
  readonly url: string
  /** Stops the server and removes its configuration and store. Safe to call more than once. */
  readonly stop: () => Promise<void>
}

/** The configuration file's text. */
export const natsServerConfigText = (config: NatsServerConfig): string => JSON.stringify(config, null, 2)

/** Starts a nats-server with JetStream from `config` (an object, or a configuration file's text). */
export const startConfiguredNatsServer = async (config: NatsServerConfig | string): Promise<ConfiguredNatsServer> => {
  const text = typeof config === "string" ? config : natsServerConfigText(config)
  const { stop, url } = await startPermissionedNatsServer({ config: text, jetstream: true })
  return { url, stop }
}

export interface Permission {
  readonly allow?: ReadonlyArray<string>
  readonly deny?: ReadonlyArray<string>
}

/** A user's permissions as nats-server takes them; `allow_responses` lets it answer requests it received. */
export interface Permissions {
  readonly publish?: Permission
  readonly subscribe?: Permission
  readonly allow_responses?: boolean
}

/** A user of an `authorization` or account block: a user and password, or an NKey (its public key, `U...`). */
export type NatsUser =
  & ({ readonly user: string; readonly password: string } | { readonly nkey: string })
  & { readonly permissions?: Permissions }

/** Clients must give one of `users`. */
export const usersAuthorization = (users: ReadonlyArray<NatsUser>): NatsServerConfig => ({
  authorization: { users }
})

/** Clients must give `token`. */
export const tokenAuthorization = (token: string): NatsServerConfig => ({ authorization: { token } })

/**
 * Accounts, each with JetStream and its users, and a system account: what a
 * least-privilege test needs (accounts isolate subjects; permissions limit users within one).
 */
export const accountsConfig = (accounts: { readonly [name: string]: ReadonlyArray<NatsUser> }): NatsServerConfig => ({
  accounts: {
    ...Object.fromEntries(Object.entries(accounts).map(([name, users]) => [name, { jetstream: "enabled", users }])),
    SYS: { users: [{ user: "sys", password: "sys" }] }
  },
  system_account: "SYS"
})

export interface ServerTls {
  readonly certFile: string
  readonly keyFile: string
  /** The CA client certificates are checked against (with `verify`). */
  readonly caFile?: string
  /** Mutual TLS: every client must present a certificate `caFile` signed. */
  readonly verify?: boolean
}

/** Clients must connect with TLS; with `verify`, with a certificate too. */
export const tlsConfig = (tls: ServerTls): NatsServerConfig => ({
  tls: {
    cert_file: tls.certFile,
    key_file: tls.keyFile,
    ...(tls.caFile === undefined ? {} : { ca_file: tls.caFile }),
    ...(tls.verify === true ? { verify: true } : {})
  }
})
