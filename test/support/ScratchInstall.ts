// Installing workspace packages the way an application does, for
// test/InstallFromTarballs.test.ts, test/InstallServiceFromTarballs.test.ts
// and test/ExampleService.test.ts:
// `pnpm pack` (whose prepack builds the package and those it depends on with
// `tsc -b`, and which rewrites `workspace:` ranges to versions), then plain
// `npm install` of the tarballs into a scratch project in the system temp dir,
// outside the workspace, so nothing there can resolve to the workspace's
// sources or its node_modules.
import { execFile } from "node:child_process"
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises"
import { homedir, tmpdir } from "node:os"
import { join, sep } from "node:path"

export const repoRoot = join(import.meta.dirname, "..", "..")

export interface RunResult {
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

/** Runs a command to its end; rejects with its exit and output tail when it fails. */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number }
): Promise<RunResult> => {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const settings = { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 90_000 }
    execFile(command, [...args], { ...settings, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const millis = performance.now() - started
      if (error === null) return resolve({ stdout, stderr, millis })
      const tail = `${stdout}\n${stderr}`.trim().split("\n").slice(-40).join("\n")
      reject(new Error(`${command} ${args.join(" ")} (in ${options.cwd}) failed: ${error.message}\n${tail}`))
    })
  })
}

/**
 * The environment of a user's shell: without the `npm_*` and `pnpm_*`
 * variables pnpm sets for the scripts it runs (vitest included), which npm
 * would read as its own configuration.
 */
export const userEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm|pnpm)_/i.test(name)))

export interface TarballFile {
  readonly path: string
  readonly bytes: number
}

export interface Tarball {
  /** The workspace package, e.g. `core` for packages/core. */
  readonly dir: string
  readonly path: string
  readonly bytes: number
  readonly files: ReadonlyArray<TarballFile>
  /** The package.json inside the tarball, as pnpm rewrote it. */
  readonly manifest: Record<string, unknown>
}

/** `tar -tvzf` lines: `-rw-r--r-- 0/0  1065 1985-10-26 08:15 package/dist/Backoff.js`. */
const listTarball = async (path: string): Promise<ReadonlyArray<TarballFile>> => {
  const { stdout } = await run("tar", ["-tvzf", path], { cwd: tmpdir() })
  return stdout.trim().split("\n").map((line) => {
    const [, , bytes = "0", , , name = ""] = line.trim().split(/\s+/)
    return { path: name.replace(/^package\//, ""), bytes: Number(bytes) }
  })
}

/** Packs `packages/<dir>` into `destination` with `pnpm pack`. */
export const pack = async (dir: string, destination: string): Promise<Tarball> => {
  const source = join(repoRoot, "packages", dir)
  const { name, version } = JSON.parse(await readFile(join(source, "package.json"), "utf8")) as Record<string, string>
  await run("pnpm", ["pack", "--pack-destination", destination], { cwd: source })
  const path = join(destination, `${String(name).replace(/^@/, "").replace("/", "-")}-${version}.tgz`)
  const manifest = JSON.parse((await run("tar", ["-xzOf", path, "package/package.json"], { cwd: tmpdir() })).stdout)
  return { dir, path, bytes: (await stat(path)).size, files: await listTarball(path), manifest }
}

/** A version the workspace has installed, so the scratch project gets the same one (and npm's cache has it). */
export const workspaceVersion = async (name: string): Promise<string> =>
  (JSON.parse(await readFile(join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version

export interface ScratchDirs {
  readonly root: string
  readonly app: string
  readonly tarballs: string
}

export interface ScratchProject {
  /** The temp dir holding the tarballs and the project. */
  readonly root: string
  /** The project: package.json, node_modules, the programs. */
  readonly app: string
  readonly installMillis: number
}

/** A new temp dir outside the workspace, with an empty ESM project in `app/` and a place for tarballs. */
export const makeScratch = async (): Promise<ScratchDirs> => {
  const root = await mkdtemp(join(tmpdir(), "tokenbus-install-"))
  const app = join(root, "app")
  const tarballs = join(root, "tarballs")
  await mkdir(app)
  await mkdir(tarballs)
  const manifest = { name: "tokenbus-install-check", version: "0.0.0", private: true, type: "module" }
  await writeFile(join(app, "package.json"), JSON.stringify(manifest, null, 2))
  return { root, app, tarballs }
}

/** npm's cache beside the other installs (scripts/ensure.sh's TOKENBUS_HOME), so later runs install offline. */
const npmCache = (): string => join(process.env["TOKENBUS_HOME"] ?? join(homedir(), ".cache", "tokenbus"), "npm-cache")

/** `npm install` of `specs` (tarball paths, `name@version`) into `app`; returns how long it took. */
export const npmInstall = async (app: string, specs: ReadonlyArray<string>): Promise<number> => {
  const flags = ["--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", "--cache", npmCache()]
  const { millis } = await run("npm", ["install", ...flags, ...specs], { cwd: app, env: userEnv(), timeoutMs: 110_000 })
  return millis
}

/** Copies the consumer programs of test/support/consumer into `app` (`tsconfig.consumer.json` as `tsconfig.json`). */
export const copyConsumerPrograms = async (app: string): Promise<void> => {
  const fixtures = join(repoRoot, "test", "support", "consumer")
  for (const name of await readdir(fixtures)) {
    await copyFile(join(fixtures, name), join(app, name === "tsconfig.consumer.json" ? "tsconfig.json" : name))
  }
}

/**
 * Copies `examples/<name>` into `root` as a project of its own, without any
 * node_modules it may have here; returns its path.
 */
export const copyExample = async (name: string, root: string): Promise<string> => {
  const destination = join(root, name)
  const filter = (source: string): boolean => !source.split(sep).includes("node_modules")
  await cp(join(repoRoot, "examples", name), destination, { recursive: true, filter })
  return destination
}

/** A duration for a progress line. */
export const seconds = (millis: number): string => `${(millis / 1000).toFixed(1)} s`

/** Progress lines on stderr, tagged with the test's name. */
export const reporter = (tag: string) => (text: string): void => {
  process.stderr.write(`[${tag}] ${text}\n`)
}
