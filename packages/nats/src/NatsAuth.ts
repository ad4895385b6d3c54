/**
 * How a connection proves itself to a NATS server that asks for credentials,
 * and how it is secured: one of the four methods a production NATS takes
 * (user and password, token, NKey seed, or the content of a `.creds` file
 * for JWT auth) and TLS (a CA to trust, and a certificate with its key for
 * mutual TLS). Secrets are `Redacted`, so printing options shows none;
 * `natsAuth` takes plain strings too and wraps them at once.
 */
import { Redacted } from "effect"

export type NatsAuth =
  | { readonly user: string; readonly password: Redacted.Redacted<string> }
  | { readonly token: Redacted.Redacted<string> }
  | { readonly nkeySeed: Redacted.Redacted<string> }
  /** The content of a `.creds` file (the user JWT and its NKey seed), not its path. */
  | { readonly creds: Redacted.Redacted<string> }

/**
 * TLS for the connection. Given (even `{}`), the connection must be TLS; the
 * server's certificate is checked against `caFile` or, without it, the
 * system's CAs. `certFile` and `keyFile` (PEM) go together: mutual TLS.
 */
export interface NatsTls {
  readonly caFile?: string
  readonly certFile?: string
  readonly keyFile?: string
}

/** A secret as a caller may hold it. */
export type SecretInput = string | Redacted.Redacted<string>

export type NatsAuthInput =
  | { readonly user: string; readonly password: SecretInput }
  | { readonly token: SecretInput }
  | { readonly nkeySeed: SecretInput }
  | { readonly creds: SecretInput }

const redacted = (secret: SecretInput): Redacted.Redacted<string> =>
  Redacted.isRedacted(secret) ? secret : Redacted.make(secret)

/** The credential with its secret `Redacted`, whichever way it was given. */
export const natsAuth = (input: NatsAuthInput): NatsAuth => {
  if ("user" in input) return { user: input.user, password: redacted(input.password) }
  if ("token" in input) return { token: redacted(input.token) }
  if ("nkeySeed" in input) return { nkeySeed: redacted(input.nkeySeed) }
  return { creds: redacted(input.creds) }
}

/** What the method is called in messages; never the secret. */
export const natsAuthMethod = (auth: NatsAuth): string => {
  if ("user" in auth) return `user ${auth.user} with password`
  return "token" in auth ? "token" : "nkeySeed" in auth ? "NKey seed" : "creds"
}

/** Why `tls` cannot work, or undefined: a certificate without its key (or a key alone) proves nothing. */
export const natsTlsProblem = (tls: NatsTls): string | undefined =>
  (tls.certFile === undefined) === (tls.keyFile === undefined)
    ? undefined
    : "certFile and keyFile go together (mutual TLS): give both or neither"
