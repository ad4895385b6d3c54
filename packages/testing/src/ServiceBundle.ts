/**
 * The replica as `pnpm build` bundles it (packages/service/scripts/bundle.ts):
 * one minified file, packages/service/dist/bundle/tokenbus.js, which the
 * bench runs its replicas from (`fromBuild` of startReplica.ts). Figures
 * measured on a bundle older than the sources would describe code that is no
 * longer there, so `ensureFreshBundle` makes it again whenever any source
 * file it is made of is newer; esbuild does that in a second or two.
 */
import { execFileSync } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** Repository root (this file is packages/testing/src/ServiceBundle.ts). */
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url))
const serviceDir = join(repoRoot, "packages", "service")

export const bundlePath = join(serviceDir, "dist", "bundle", "tokenbus.js")

/** The packages the bundle is made of: the service and the workspace packages it imports. */
const bundled = ["service", "core", "nats", "client", "devstack", "sim"]

const newestSource = (): { readonly path: string; readonly mtimeMs: number } => {
  let newest = { path: "", mtimeMs: 0 }
  for (const name of bundled) {
    const src = join(repoRoot, "packages", name, "src")
    for (const entry of readdirSync(src, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue
      const path = join(entry.parentPath, entry.name)
      const { mtimeMs } = statSync(path)
      if (mtimeMs > newest.mtimeMs) newest = { path, mtimeMs }
    }
  }
  return newest
}

/** Why the bundle needs making again (missing, or older than a source file), or undefined when it is current. */
export const staleBundle = (): string | undefined => {
  let built: number
  try {
    built = statSync(bundlePath).mtimeMs
  } catch {
    return "it is missing"
  }
  const newest = newestSource()
  return newest.mtimeMs > built ? `it is older than ${newest.path}` : undefined
}

/** Bundles the service again if the bundle is stale; returns why it did, or undefined if it did not have to. */
export const ensureFreshBundle = (): string | undefined => {
  const stale = staleBundle()
  if (stale === undefined) return undefined
  execFileSync(process.execPath, [join(serviceDir, "scripts", "bundle.ts")], { cwd: serviceDir, stdio: "pipe" })
  return stale
}
