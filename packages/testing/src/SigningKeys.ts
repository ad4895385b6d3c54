/**
 * The signing keys of test clusters. `startCluster` gives each cluster a key
 * pair of its own (`cluster.signingKeys`, `cluster.verifyKey` for clients);
 * a replica started from `replicaConfig` some other way signs with this test
 * process's default pair, so every replica a test starts signs its tokens,
 * as a deployment's do. The private key reaches a replica through its
 * environment (`$TOKENBUS_SIGNING_KEY`), as the provider's secret does.
 */
import { generateKeyPairSync } from "node:crypto"

export const SIGNING_KEY_ENV = "TOKENBUS_SIGNING_KEY"

export interface SigningKeys {
  /** PKCS#8 PEM: what replicas sign with. */
  readonly privateKeyPem: string
  /** SPKI PEM: what clients verify with (`verifyKey`). */
  readonly publicKeyPem: string
}

export const generateSigningKeys = (): SigningKeys => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519")
  return {
    privateKeyPem: String(privateKey.export({ type: "pkcs8", format: "pem" })),
    publicKeyPem: String(publicKey.export({ type: "spki", format: "pem" }))
  }
}

/** The pair of replicas whose environment names no key of their own: one per test process. */
export const defaultSigningKeys: SigningKeys = generateSigningKeys()

/** The private key's base64 body, to look for in logs (a PEM's lines may be split or escaped there). */
export const privateKeyBody = (keys: SigningKeys): string =>
  keys.privateKeyPem.replace(/-----[A-Z ]+-----/g, "").replace(/\s/g, "")
