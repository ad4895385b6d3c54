/**
 * `pnpm --filter @tokenbus/service bundle` (and so `pnpm build`): the
 * `tokenbus` command as one minified ES module, dist/bundle/tokenbus.js,
 * with every dependency inside. A replica run from it loads no TypeScript
 * and only the parts of Effect, nats.js and pino it uses, which is what
 * brings a started replica near 100 MiB of RSS and ready in well under a
 * second (the bench's footprint scenario measures both against src/bin.ts).
 * It is not published (package.json `files`): the package's own `bin` stays
 * dist/bin.js, built by tsc.
 */
import { build } from "esbuild"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

// pino and a few nats.js modules are CommonJS and `require` Node's built-ins,
// which an ES module has no `require` for: the banner gives them one.
const banner = [
  `import { createRequire as __tokenbusCreateRequire } from "node:module"`,
  `const require = __tokenbusCreateRequire(import.meta.url)`
].join("\n")

const result = await build({
  absWorkingDir: root,
  entryPoints: ["src/bin.ts"],
  outfile: "dist/bundle/tokenbus.js",
  bundle: true,
  minify: true,
  platform: "node",
  format: "esm",
  target: "node22.19",
  // The shebang of src/bin.ts stays first; the banner follows it.
  banner: { js: banner },
  legalComments: "none",
  logLevel: "warning",
  metafile: true
})
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0)
process.stdout.write(`dist/bundle/tokenbus.js: ${(bytes / 2 ** 20).toFixed(1)} MiB\n`)
