// The scale scenario's view of leadership, read from real child processes'
// stdout (each prints the pino lines it is given, as a replica would): the
// highest term names the leader whatever order the replicas logged in, among
// the leaderships that have not stepped down, a
// provider holds a token once a replica minted or adopted one (counted once),
// lines logged after a look are taken at the next one, and a failover's
// provider is served from the first such line of a survivor after the kill.
import { type LogLine, ReplicaProcess } from "@tokenbus/testing"
import { spawn } from "node:child_process"
import { describe, expect, it } from "vitest"
import { LeaderIndex } from "../src/scale/LeaderIndex.ts"

const line = (msg: string, fields: Partial<LogLine>): string => JSON.stringify({ level: 30, time: 0, msg, ...fields })

/** A process that prints `lines` on stdout, then, once told on stdin, `later` too. */
const printer = async (name: string, lines: ReadonlyArray<string>, later: ReadonlyArray<string> = []) => {
  const script = `process.stdout.write(${JSON.stringify(lines.join("\n") + "\n")});` +
    `process.stdin.once("data", () => { process.stdout.write(${JSON.stringify(later.join("\n") + "\n")}); process.exit(0) })`
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "pipe"] })
  const replica = new ReplicaProcess(name, child, "", name)
  await replica.waitForLog(() => replica.logs.length >= lines.length, 10_000)
  return { replica, release: () => child.stdin.write("go\n") }
}

describe("LeaderIndex", () => {
  it("names the replica with the highest term as each provider's leader, and counts providers with a token once", async () => {
    const a = await printer("a", [
      line("became leader", { provider: "p1", term: 5, time: 100 }),
      line("minted and committed a token", { provider: "p1", time: 110 }),
      line("became leader", { provider: "p2", term: 9, time: 120 }),
      line("minted and committed a token", { provider: "p2", time: 130 })
    ])
    const b = await printer("b", [
      line("became leader", { provider: "p1", term: 7, time: 105 }),
      line("minted and committed a token", { provider: "p1", time: 115 }),
      line("became leader", { provider: "p2", term: 3, time: 90 }),
      line("adopted the stored token", { provider: "p4", time: 95 }),
      line("replica ready", { time: 80 })
    ])
    const index = new LeaderIndex([a.replica, b.replica]).refresh()
    expect(index.leaderOf("p1")).toMatchObject({ replica: b.replica, term: 7, at: 105 })
    expect(index.leaderOf("p2")).toMatchObject({ replica: a.replica, term: 9, at: 120 })
    expect(index.leaderOf("p3")).toBeUndefined()
    expect(index.ledBy(a.replica)).toEqual(["p2"])
    expect(index.ledBy(b.replica)).toEqual(["p1"])
    expect(index.tokenCount).toBe(3)
    expect(index.lastFirstTokenAt).toBe(130)
    expect(index.lastLeadershipAt).toBe(120)
    expect(index.withoutToken(["p1", "p2", "p3", "p4"])).toEqual(["p3"])
    a.release()
    b.release()
  })

  it("takes the lines logged since the last look at the next refresh", async () => {
    const a = await printer("a", [line("became leader", { provider: "p1", term: 1, time: 10 })], [
      line("became leader", { provider: "p1", term: 4, time: 40 }),
      line("minted and committed a token", { provider: "p1", time: 45 })
    ])
    const b = await printer("b", [line("became leader", { provider: "p1", term: 2, time: 20 })])
    const index = new LeaderIndex([a.replica, b.replica]).refresh()
    expect(index.leaderOf("p1")?.replica).toBe(b.replica)
    expect(index.tokenCount).toBe(0)
    a.release()
    await a.replica.exited
    expect(index.leaderOf("p1")?.replica).toBe(b.replica)
    index.refresh()
    expect(index.leaderOf("p1")).toMatchObject({ replica: a.replica, term: 4 })
    expect(index.tokenCount).toBe(1)
    b.release()
  })

  it("a leadership that stepped down names nobody, and the one still leading with a lower term is the leader", async () => {
    const a = await printer("a", [
      line("became leader", { provider: "p1", term: 3, time: 10 }),
      line("became leader", { provider: "p2", term: 3, time: 10 })
    ])
    const b = await printer("b", [
      line("became leader", { provider: "p1", term: 5, time: 20 }),
      line("stepped down", { provider: "p1", term: 5, time: 30, reason: "the provider moved to another member" }),
      line("became leader", { provider: "p2", term: 6, time: 20 }),
      line("stepped down", { provider: "p2", term: 4, time: 25 })
    ])
    const index = new LeaderIndex([a.replica, b.replica]).refresh()
    expect(index.leaderOf("p1")).toMatchObject({ replica: a.replica, term: 3 })
    // Only the leadership of the same term steps down.
    expect(index.leaderOf("p2")).toMatchObject({ replica: b.replica, term: 6 })
    expect(index.ledBy(a.replica)).toEqual(["p1"])
    a.release()
    b.release()
  })

  it("a provider is served after a kill from the first token line of another replica, not the killed one's", async () => {
    const victim = await printer("victim", [
      line("adopted the stored token", { provider: "p1", time: 10 }),
      line("minted and committed a token", { provider: "p1", time: 60 })
    ])
    const survivor = await printer("survivor", [
      line("adopted the stored token", { provider: "p1", time: 20 }),
      line("became leader", { provider: "p1", term: 8, time: 70 }),
      line("adopted the stored token", { provider: "p1", time: 80 }),
      line("minted and committed a token", { provider: "p1", time: 95 })
    ])
    // Logged earlier than the first survivor's line, but read after it.
    const other = await printer("other", [line("adopted the stored token", { provider: "p1", time: 75 })])
    const index = new LeaderIndex([victim.replica, survivor.replica, other.replica]).refresh()
    expect(index.heldSince("p1", 50, victim.replica)).toBe(75)
    expect(index.heldSince("p1", 76, victim.replica)).toBe(80)
    expect(index.heldSince("p1", 50, survivor.replica)).toBe(60)
    expect(index.heldSince("p1", 100, victim.replica)).toBeUndefined()
    expect(index.heldSince("p2", 0, victim.replica)).toBeUndefined()
    victim.release()
    survivor.release()
    other.release()
  })
})
