// The replica as the bench runs it: the one-file bundle `pnpm build` makes
// (packages/service/scripts/bundle.ts), which must still be a whole replica
// (its dependencies bundled, none left to load from node_modules at run time
// that bundling broke) and lighter than the replica run from its TypeScript
// sources. The bundle is made again here if it is missing or older than the
// sources, as the bench does.
import { ensureFreshBundle, logMsg, PROVIDER } from "@tokenbus/testing"
import { readFileSync } from "node:fs"
import { beforeAll, describe, expect, it } from "vitest"
import { useReplicaCluster } from "./support/ServiceFixture.ts"

const MiB = 2 ** 20

const rssOf = (pid: number): number =>
  Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024

describe("a replica run from the bundle", () => {
  beforeAll(() => {
    ensureFreshBundle()
  }, 60_000)
  const fixture = useReplicaCluster({ replicas: 1, replica: { fromBuild: true, logLevel: "Info" } })

  it("runs the bundle, not the sources", () => {
    const [replica] = fixture.cluster.replicas
    const cmdline = readFileSync(`/proc/${replica?.pid}/cmdline`, "utf8").split("\0")
    expect(cmdline).toEqual(expect.arrayContaining([expect.stringMatching(/dist\/bundle\/tokenbus\.js$/)]))
    expect(cmdline.some((arg) => arg.endsWith(".ts"))).toBe(false)
  })

  it("mints, commits and serves the provider's token", async () => {
    const { cluster } = fixture
    const token = await cluster.firstToken()
    expect(token.provider).toBe(PROVIDER)
    expect(cluster.sim.issuedTokens()).toEqual([token.accessToken])
    expect(cluster.linesOfAll(logMsg("minted and committed a token", { provider: PROVIDER }))).toHaveLength(1)
  })

  // From src/bin.ts a started replica holds about 175 MiB on this machine kind, from the bundle about 100 MiB
  // (the bench's footprint scenario measures both); the bound sits between them, with room for a loaded machine.
  it("holds well under the memory of a replica run from the sources", async () => {
    const { cluster } = fixture
    await cluster.firstToken()
    const [replica] = cluster.replicas
    expect(rssOf(replica?.pid ?? -1) / MiB).toBeLessThan(150)
  })
})
