/**
 * The service package's version, as its package.json says, for `$SRV` and
 * the metrics: read once at load, from the same place relative to this file
 * in the sources, the published build and the bundle (dist/bundle), and
 * "0.0.0" where no package.json is there to read.
 */
import { createRequire } from "node:module"

const readManifest = (): unknown => {
  try {
    return createRequire(import.meta.url)("../../package.json")
  } catch {
    return undefined
  }
}

const manifest = readManifest()

export const serviceVersion: string = typeof manifest === "object" && manifest !== null && "version" in manifest &&
    typeof manifest.version === "string"
  ? manifest.version
  : "0.0.0"
