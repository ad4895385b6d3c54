// The deployment the leak test drives: every provider kind against the
// simulators, with canary credentials (project44's client secret written
// inline, ItemPath's password from the environment, the OAuth2 client secret
// from a file, a static token from a file, and one from a variable whose
// name is the token itself), and each OAuth2 and ItemPath kind against every
// behaviour of the hostile upstream. Two replica configs differ only in how
// they log in to NATS: `nats.auth` with the password from the environment,
// or the password written into the server URL. Both seal KV with a storage
// key and sign with a signing key: secrets too.
import { generateKeyPairSync, randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  type ItemPathSim,
  type OAuth2RefreshSim,
  type Project44Sim,
  startItemPathSim,
  startOAuth2RefreshSim,
  startProject44Sim
} from "@tokenbus/sim"
import { randomPrefix } from "@tokenbus/testing"
import { type Canaries, canaryNeedles, type Needle, onTheWire } from "./Canaries.ts"
import { behaviours, type HostileUpstream, startHostileUpstream } from "./HostileUpstream.ts"
import { testLease } from "./ServiceFixture.ts"

type Json = Record<string, unknown>

export interface CanaryDeployment {
  readonly prefix: string
  /** The replica configs: `nats.auth` from the environment, and the password in the server URL. */
  readonly configs: readonly [Json, Json]
  readonly env: Readonly<Record<string, string>>
  readonly providers: ReadonlyArray<Json>
  /** Providers whose upstream mints. */
  readonly minting: ReadonlyArray<string>
  /** Providers whose every mint fails. */
  readonly failing: ReadonlyArray<string>
  readonly sims: { readonly p44: Project44Sim; readonly itemPath: ItemPathSim; readonly oauth: OAuth2RefreshSim }
  readonly dir: string
  /** Every secret of the deployment and every token its upstreams issued so far, in every form. */
  readonly needles: () => ReadonlyArray<Needle>
  readonly close: () => Promise<void>
}

/** Hostile providers of each kind, the OAuth2 ones with their secret where `clientAuth` sends it. */
const hostileProviders = (canaries: Canaries, hostile: HostileUpstream, secretFile: string): ReadonlyArray<Json> => {
  const policy = {
    timeoutMillis: 1000,
    retry: { attempts: 2, baseMillis: 100, capMillis: 200 },
    rateLimit: { tokens: 60, windowMillis: 60_000, burst: 20 },
    circuitBreaker: { freshTokenMillis: 0 }
  }
  const kinds: ReadonlyArray<readonly [string, (url: string) => Json]> = [
    ["cc-basic", (tokenUrl) => ({
      kind: "oauth2-client-credentials",
      tokenUrl,
      clientId: "cc-basic",
      clientSecret: { env: "CANARY_CLIENT_SECRET" },
      clientAuth: "basic"
    })],
    ["cc-body", (tokenUrl) => ({
      kind: "oauth2-client-credentials",
      tokenUrl,
      clientId: "cc-body",
      clientSecret: canaries.clientSecret,
      clientAuth: "body"
    })],
    ["refresh", (tokenUrl) => ({
      kind: "oauth2-refresh-token",
      tokenUrl,
      clientId: "refresh",
      clientSecret: { file: secretFile },
      clientAuth: "body",
      refreshToken: canaries.refreshToken
    })],
    ["itempath", (baseUrl) => ({
      kind: "itempath",
      baseUrl,
      username: "robot",
      password: { env: "CANARY_PASSWORD" }
    })]
  ]
  return kinds.flatMap(([name, entry]) =>
    behaviours.map((behaviour) => ({ id: `${name}-${behaviour}`, ...entry(hostile.url(behaviour)), ...policy }))
  )
}

/**
 * The simulators' providers: project44's secret inline, ItemPath's password
 * from the environment, the OAuth2 client secret from a file and its refresh
 * token from the environment, a static token from a file, and one from a
 * variable whose name is the token itself (an operator's slip; it is read at
 * each mint).
 */
const simProviders = (
  canaries: Canaries,
  sims: CanaryDeployment["sims"],
  files: { readonly secretFile: string; readonly staticFile: string }
): ReadonlyArray<Json> => {
  const breakerOff = { circuitBreaker: { freshTokenMillis: 0 } }
  return [
    {
      id: "p44-sim",
      kind: "oauth2-client-credentials",
      tokenUrl: sims.p44.tokenUrl,
      clientId: "p44",
      clientSecret: canaries.clientSecret,
      clientAuth: "basic",
      ...breakerOff
    },
    {
      id: "itempath-sim",
      kind: "itempath",
      baseUrl: sims.itemPath.baseUrl,
      username: "robot",
      password: { env: "CANARY_PASSWORD" }
    },
    {
      id: "oauth-sim",
      kind: "oauth2-refresh-token",
      tokenUrl: sims.oauth.tokenUrl,
      clientId: "crm",
      clientSecret: { file: files.secretFile },
      clientAuth: "basic",
      refreshToken: { env: "OAUTH_REFRESH_TOKEN" },
      ...breakerOff
    },
    { id: "static-file", kind: "static", token: { file: files.staticFile }, pollMillis: 250 },
    { id: "static-misplaced", kind: "static", token: { env: canaries.accessToken } }
  ]
}

const numbered = (what: string, tokens: ReadonlyArray<string>): ReadonlyArray<Needle> =>
  tokens.map((token, index) => [`${what} #${index + 1}`, token] as const)

/** What the deployment holds or was issued beyond the canaries: the simulators' tokens, the storage, signing keys. */
const issuedNeedles = (sims: CanaryDeployment["sims"], storageKey: string, signingKey: string): Array<Needle> => [
  ...numbered("project44 token", sims.p44.issuedTokens()),
  ...numbered("ItemPath access token", sims.itemPath.issuedAccessTokens()),
  ...numbered("ItemPath refresh token", sims.itemPath.issuedRefreshTokens()),
  ...numbered("OAuth2 access token", sims.oauth.issuedAccessTokens()),
  ...numbered("OAuth2 refresh token", sims.oauth.issuedRefreshTokens()),
  ["the storage key", storageKey],
  // The PEM's body: each line holds part of the key.
  ...signingKey.split("\n").filter((line) => line.length > 0 && !line.startsWith("-----")).map((line) =>
    ["the signing key", line] as const
  )
]

/** The two replica configs: the NATS password by `nats.auth` from the environment, or written into the URL. */
interface ReplicaFields {
  readonly prefix: string
  readonly signingFile: string
  readonly providers: ReadonlyArray<Json>
}

const replicaConfigs = (natsUrl: string, natsPassword: string, fields: ReplicaFields): readonly [Json, Json] => {
  const { prefix, providers, signingFile } = fields
  const common = {
    prefix,
    lease: testLease,
    requestTimeoutMillis: 3000,
    storage: { keys: [{ id: "k1", key: { env: "TOKENBUS_STORAGE_KEY" } }], writeKey: "k1" },
    signing: { privateKey: { file: signingFile } },
    providers
  }
  const withCredentials = natsUrl.replace("nats://", `nats://tokenbus:${encodeURIComponent(natsPassword)}@`)
  return [
    { nats: { servers: [natsUrl], auth: { user: "tokenbus", password: { env: "CANARY_NATS_PASSWORD" } } }, ...common },
    { nats: { servers: [withCredentials] }, ...common }
  ]
}

export const startCanaryDeployment = async (natsUrl: string, canaries: Canaries): Promise<CanaryDeployment> => {
  const dir = mkdtempSync(join(tmpdir(), "tokenbus-canaries-"))
  const file = (name: string, content: string) => {
    const path = join(dir, name)
    writeFileSync(path, content)
    return path
  }
  const secretFile = file("client-secret", `${canaries.clientSecret}\n`)
  const staticFile = file("static-token", `${canaries.accessToken}\n`)
  const signingKey = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString()
  const signingFile = file("signing.pem", signingKey)
  const storageKey = randomBytes(32).toString("base64")

  const p44 = await startProject44Sim({ clientId: "p44", clientSecret: canaries.clientSecret })
  const itemPath = await startItemPathSim({ username: "robot", password: canaries.password })
  const oauth = await startOAuth2RefreshSim({ clientId: "crm", clientSecret: canaries.clientSecret })
  const hostile = await startHostileUpstream({ accessToken: canaries.accessToken, refreshToken: canaries.refreshToken })
  const simRefreshToken = oauth.issueRefreshToken()

  const env = {
    CANARY_CLIENT_SECRET: canaries.clientSecret,
    CANARY_PASSWORD: canaries.password,
    CANARY_NATS_PASSWORD: canaries.natsPassword,
    OAUTH_REFRESH_TOKEN: simRefreshToken,
    TOKENBUS_STORAGE_KEY: storageKey
  }
  const sims = { p44, itemPath, oauth }
  const files = { secretFile, staticFile }
  const providers = [...simProviders(canaries, sims, files), ...hostileProviders(canaries, hostile, secretFile)]
  const prefix = randomPrefix()
  const configs = replicaConfigs(natsUrl, canaries.natsPassword, { prefix, signingFile, providers })
  const ids = providers.map((provider) => String(provider["id"]))
  const minting = ids.filter((id) => id.endsWith("-sim") || id.endsWith("-ok") || id === "static-file")

  const issued = () => issuedNeedles(sims, storageKey, signingKey)
  const clientIds = ["p44", "crm", "cc-basic", "cc-body", "refresh"]
  return {
    prefix,
    configs,
    env,
    providers,
    minting,
    failing: ids.filter((id) => !minting.includes(id)),
    sims,
    dir,
    needles: () => onTheWire([...canaryNeedles(canaries), ...issued()], clientIds, [canaries.clientSecret]),
    close: async () => {
      await Promise.all([p44.close(), itemPath.close(), oauth.close(), hostile.close()])
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
