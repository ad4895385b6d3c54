/**
 * The kit's files on disk: one temp dir holding the replicas' configuration
 * files and the upstream's client secret, in a file only this user can read,
 * as a mounted secret would be (the configuration names the file, so the
 * secret never appears in it, in a process's arguments or its environment).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface KitFiles {
  readonly dir: string
  readonly secretFile: string
  /** Removes the dir and everything in it. */
  readonly remove: () => Promise<void>
}

export const makeKitFiles = async (secret: string): Promise<KitFiles> => {
  const dir = await mkdtemp(join(tmpdir(), "tokenbus-testkit-"))
  const secretFile = join(dir, "project44-client-secret")
  await writeFile(secretFile, secret, { mode: 0o600 })
  return { dir, secretFile, remove: () => rm(dir, { recursive: true, force: true }) }
}
