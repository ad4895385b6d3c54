// The kit runs the `tokenbus` command of the @tokenbus/service it resolves:
// the path must be that package's real bin (here, the workspace's source),
// which Node can run, and a kit installed without the service must say what
// to install instead of failing on a missing file.
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { describe, expect, it } from "@effect/vitest"
import { serviceBin } from "../src/internal/ServiceBin.ts"
import { TestKitError } from "../src/TestKitError.ts"

const run = promisify(execFile)

describe("serviceBin", () => {
  it("is the tokenbus command of @tokenbus/service, runnable with this Node", async () => {
    const bin = serviceBin()
    expect(bin).not.toContain("node_modules")
    const { stdout } = await run(process.execPath, [bin, "serve", "--help"], { timeout: 30_000 })
    expect(stdout).toContain("Run a tokenbus replica")
    expect(stdout).toContain("--config")
  })

  it("says to install @tokenbus/service when it cannot be resolved", () => {
    // The filesystem root has no node_modules holding it.
    const failure = (() => {
      try {
        return serviceBin("file:///index.js")
      } catch (error) {
        return error
      }
    })()
    expect(failure).toBeInstanceOf(TestKitError)
    expect(failure).toMatchObject({ step: "service" })
    expect((failure as TestKitError).message).toContain("npm install --save-dev @tokenbus/service")
  })
})
