/**
 * The Dockerfile's build stage: turns the `pnpm deploy --prod` tree of
 * @tokenbus/service (copied to the directory given, /app) into what the
 * runtime stage copies. pnpm deploy copies the workspace packages with their
 * workspace manifests, whose exports name the TypeScript sources, which Node
 * does not run under node_modules; so each manifest gets its `publishConfig`
 * (the dist/ exports `pnpm pack` would ship) and the sources go. Source maps,
 * declarations, TypeScript files and docs other than licences are dropped
 * too: the runtime has no use for them. The service's required peers (effect), which pnpm deploy
 * leaves in its store without a link where the service can find them, are
 * linked. Runs with the base image's node, which has no shell.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"

const app = process.argv[2] ?? "/app"

/** Files the runtime never reads; TypeScript among them, which Node does not run under node_modules. */
const dropped = /(\.map|\.[cm]?ts|\.tsbuildinfo)$/
const docs = /\.(md|markdown)$/i
const licence = /^(licen[cs]e|copying|notice)/i

/** The root of every package in the tree: the app and each real directory pnpm's virtual store holds. */
const packageRoots = (): Array<string> => {
  const roots = [app]
  const store = join(app, "node_modules", ".pnpm")
  if (!existsSync(store)) return roots
  for (const entry of readdirSync(store)) {
    const modules = join(store, entry, "node_modules")
    if (!existsSync(modules)) continue
    for (const name of readdirSync(modules)) {
      const dirs = name.startsWith("@")
        ? readdirSync(join(modules, name)).map((scoped) => join(modules, name, scoped))
        : [join(modules, name)]
      // the others are pnpm's links to the packages this one depends on
      roots.push(...dirs.filter((dir) => !lstatSync(dir).isSymbolicLink()))
    }
  }
  return roots
}

/** A workspace package gets the manifest `pnpm pack` would give it; any keeps `src` only if an entry point is there. */
const preparePackage = (root: string): void => {
  const path = join(root, "package.json")
  if (!existsSync(path)) return
  const manifest = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>
  const publish = manifest["publishConfig"]
  if (typeof publish === "object" && publish !== null && String(manifest["name"]).startsWith("@tokenbus/")) {
    const { devDependencies: _dev, publishConfig: _publish, scripts: _scripts, ...rest } = manifest
    writeFileSync(path, JSON.stringify({ ...rest, ...publish }, null, 2) + "\n")
  }
  const { bin, exports, imports, main, module } = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>
  const entryPoints = JSON.stringify([bin, exports, imports, main, module])
  if (!entryPoints.includes("src/")) rmSync(join(root, "src"), { recursive: true, force: true })
}

const prune = (dir: string): void => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) prune(path)
    else if (entry.isFile() && (dropped.test(entry.name) || (docs.test(entry.name) && !licence.test(entry.name)))) {
      rmSync(path)
    }
  }
}

/** Links each required peer of the app that pnpm left unlinked to the copy in its store. */
const linkPeers = (): void => {
  const manifest = JSON.parse(readFileSync(join(app, "package.json"), "utf8")) as {
    peerDependencies?: Record<string, string>
    peerDependenciesMeta?: Record<string, { optional?: boolean }>
  }
  const store = join(app, "node_modules", ".pnpm")
  for (const name of Object.keys(manifest.peerDependencies ?? {})) {
    const link = join(app, "node_modules", name)
    if (manifest.peerDependenciesMeta?.[name]?.optional === true || existsSync(link)) continue
    const entry = readdirSync(store).find((dir) => dir.startsWith(`${name.replace("/", "+")}@`))
    if (entry === undefined) throw new Error(`the peer dependency ${name} is not in ${store}`)
    symlinkSync(relative(join(link, ".."), join(store, entry, "node_modules", name)), link)
  }
}

for (const root of packageRoots()) preparePackage(root)
linkPeers()
rmSync(join(app, "node_modules", ".bin"), { recursive: true, force: true })
prune(app)
