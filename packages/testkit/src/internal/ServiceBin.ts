/**
 * The `tokenbus` command the replicas run: the `bin` of the @tokenbus/service
 * package this kit resolves, as an application installed it. Installed from
 * the registry that is its built `dist/bin.js`; in the tokenbus workspace it
 * is `src/bin.ts`, which Node runs by stripping its types. Reading the
 * package's own manifest, rather than guessing a path, keeps the two in step.
 */
import { readFileSync, realpathSync } from "node:fs"
import { findPackageJSON } from "node:module"
import { dirname, resolve } from "node:path"
import { messageOf, TestKitError } from "../TestKitError.ts"

const SERVICE = "@tokenbus/service"

const notFound = (why: string, cause?: unknown): TestKitError =>
  new TestKitError({
    step: "service",
    message: `cannot find the tokenbus command (${why}): install ${SERVICE} beside @tokenbus/testkit ` +
      `(npm install --save-dev ${SERVICE})`,
    ...(cause === undefined ? {} : { cause })
  })

const binOf = (manifest: Record<string, unknown>): string | undefined => {
  const bin = manifest["bin"]
  if (typeof bin === "string") return bin
  const entry = typeof bin === "object" && bin !== null ? (bin as Record<string, unknown>)["tokenbus"] : undefined
  return typeof entry === "string" ? entry : undefined
}

/** The absolute path of the service's `tokenbus` script, symlinks resolved. */
export const serviceBin = (from: string = import.meta.url): string => {
  let manifestPath: string | undefined
  try {
    manifestPath = findPackageJSON(SERVICE, from)
  } catch (cause) {
    throw notFound(messageOf(cause), cause)
  }
  if (manifestPath === undefined) throw notFound(`no package.json for ${SERVICE}`)
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, unknown>
  const bin = binOf(manifest)
  if (bin === undefined) throw notFound(`${manifestPath} declares no tokenbus bin`)
  // The real path: Node strips types only outside node_modules, and a workspace links the package there.
  return realpathSync(resolve(dirname(manifestPath), bin))
}
