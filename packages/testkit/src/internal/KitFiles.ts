/**
 * The kit's files on disk: one temp dir holding the replicas' configuration
 * files, the upstream's client secret and the key the replicas seal the
 * tokens bucket with (random per kit), each in a file only this user can
 * read, as a mounted secret would be (the configuration names the file, so
 * the secret never appears in it, in a process's arguments or its
 * environment). The replicas' signing key is one of them too: a new pair
 * per kit, whose public half the kit hands its clients; and the bus key,
 * which the kit hands its clients when its replicas seal what they send.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface KitFiles {
  readonly dir: string
  readonly secretFile: string
  /** The storage key: the base64 of 32 random bytes. */
  readonly storageKeyFile: string
  /** The private key the replicas sign tokens with (PKCS#8 PEM). */
  readonly signingKeyFile: string
  /** Its public half (SPKI PEM): what clients verify tokens with. */
  readonly verifyKey: string
  /** The bus key (the base64 of 32 random bytes), for replicas that seal the tokens they send. */
  readonly busKeyFile: string
  readonly busKey: string
  /** Removes the dir and everything in it. */
  readonly remove: () => Promise<void>
}

export const makeKitFiles = async (secret: string): Promise<KitFiles> => {
  const dir = await mkdtemp(join(tmpdir(), "tokenbus-testkit-"))
  const secretFile = join(dir, "project44-client-secret")
  await writeFile(secretFile, secret, { mode: 0o600 })
  const storageKeyFile = join(dir, "storage-key")
  await writeFile(storageKeyFile, randomBytes(32).toString("base64"), { mode: 0o600 })
  const signing = generateKeyPairSync("ed25519")
  const signingKeyFile = join(dir, "signing-key.pem")
  await writeFile(signingKeyFile, signing.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 })
  const verifyKey = String(signing.publicKey.export({ type: "spki", format: "pem" }))
  const busKeyFile = join(dir, "bus-key")
  const busKey = randomBytes(32).toString("base64")
  await writeFile(busKeyFile, busKey, { mode: 0o600 })
  const remove = () => rm(dir, { recursive: true, force: true })
  return { dir, secretFile, storageKeyFile, signingKeyFile, verifyKey, busKeyFile, busKey, remove }
}
