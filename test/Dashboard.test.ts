// The dashboard every replica serves (packages/service/src/observe/Dashboard*.ts),
// opened in Debian's Chromium through playwright-core against three real
// replica processes: the page names the leader the replicas' logs name, its
// timeline gains the re-mint a 401 report of a revoked token causes, its
// leader marker moves when the leader is SIGKILLed, and neither the page nor
// its event stream ever holds an access token. The page is opened on a
// follower, so it outlives the leader's kill. A screenshot is saved at the end.
// Then `/events` on one replica: three pages get the same snapshots (one
// reader), a second or more apart; the replica's NATS traffic (the server's
// monitor) rises only while pages are open; a SIGTERM is not held up by one.
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  httpPortOf,
  logMsg,
  PROVIDER,
  type ReplicaCluster,
  type ReplicaProcess,
  scrape,
  waitUntil
} from "@tokenbus/testing"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { clusterForTest } from "./support/ServiceFixture.ts"

const chromiumFlags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

const reportsMetric = "tokenbus_unauthorized_reports_total"
const provider = { provider: PROVIDER }

const project44Row = "#providers-body tr[data-provider='project44']"

let browser: Browser | undefined

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumFlags })
})

afterAll(async () => {
  await browser?.close()
})

const replicaIdOf = (replica: ReplicaProcess): string => {
  const id = replica.lines(logMsg("joined the cluster")).at(-1)?.["replica"]
  if (typeof id !== "string") throw new Error(`${replica.name} logged no replica id`)
  return id
}

/** The text of the page's leader cell for project44, and of the replica rows marked as leading it. */
const leaderShown = async (page: Page) => {
  const cell = await page.locator(`${project44Row} .leader-cell .leader`).allTextContents()
  const marked = page.locator("#replicas-body tr").filter({ has: page.locator(".leader", { hasText: "project44" }) })
  const rows: Array<string | null> = []
  for (let i = 0; i < (await marked.count()); i++) rows.push(await marked.nth(i).getAttribute("data-replica"))
  return { cell: cell.join(" "), rows }
}

const waitForLeaderShown = async (page: Page, id: string, timeoutMs: number) => {
  await waitUntil(async () => {
    const shown = await leaderShown(page)
    return shown.cell === `★ ${id}` && shown.rows.length === 1 && shown.rows[0] === id
  }, timeoutMs, `the page did not show ${id} as the leader of project44`)
}

const timelineItems = (page: Page, event: string) =>
  page.locator(`#timeline li[data-event='${event}'][data-provider='project44']`).allTextContents()

/** What `/events` sends within `millis`, as raw text. */
const readEvents = async (port: number, millis: number): Promise<string> => {
  const response = await fetch(`http://127.0.0.1:${port}/events`, { signal: AbortSignal.timeout(millis + 5_000) })
  expect(response.headers.get("content-type")).toContain("text/event-stream")
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ""
  const until = Date.now() + millis
  while (Date.now() < until) {
    const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), until - Date.now()))
    // A replica that stops may cut the stream: what arrived before counts.
    const next = await Promise.race([reader.read().catch(() => undefined), timeout])
    if (next === undefined || next.done) break
    text += decoder.decode(next.value, { stream: true })
  }
  await reader.cancel().catch(() => undefined)
  return text
}

/** The `at` of every status snapshot in an event stream's text. */
const snapshotTimes = (text: string): Array<number> =>
  text.split("\n\n").flatMap((block) => {
    const data = /^event: status\ndata: (.*)$/m.exec(block)?.[1]
    return data === undefined ? [] : [Date.parse((JSON.parse(data) as { status: { at: string } }).status.at)]
  })

/** Messages per second the NATS server received from `replica`'s connection, over `millis` (its monitor). */
const requestRate = async (replica: ReplicaProcess, millis = 3_000): Promise<number> => {
  const received = async () => {
    const response = await fetch(`http://127.0.0.1:${inject("natsMonitorPort")}/connz?limit=4096`)
    const body = (await response.json()) as { connections?: Array<{ name?: string; in_msgs: number }> }
    const connection = body.connections?.find((c) => c.name === replica.natsName)
    if (connection === undefined) throw new Error(`no NATS connection named ${replica.natsName}`)
    return connection.in_msgs
  }
  const before = await received()
  await new Promise((r) => setTimeout(r, millis))
  return ((await received()) - before) / (millis / 1000)
}

const expectNoToken = (cluster: ReplicaCluster, text: string, where: string) => {
  const issued = cluster.sim.issuedTokens()
  expect(issued.length).toBeGreaterThan(0)
  const leaked = issued.flatMap((token, index) => text.includes(token) ? [`issued token #${index + 1}`] : [])
  expect(leaked, `${where} holds an access token`).toEqual([])
}

describe("the dashboard in a real browser", () => {
  it("shows the leader, a re-mint after a revocation, and the new leader after a kill; no token", async () => {
    const started = Date.now()
    const cluster = await clusterForTest({ replicas: 3 })
    await cluster.firstToken()
    const leader = await cluster.settledLeader()
    const leaderId = replicaIdOf(leader.replica)
    const follower = cluster.running.find((replica) => replica !== leader.replica)!
    const port = await httpPortOf(follower)

    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } })
    const problems: Array<string> = []
    page.on("pageerror", (error) => problems.push(error.message))
    page.on("requestfailed", (request) => {
      if (!request.url().endsWith("/events")) problems.push(`request failed: ${request.url()}`)
    })
    const response = await page.goto(`http://127.0.0.1:${port}/`)
    expect(response?.status()).toBe(200)
    expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'")
    await expect.poll(() => page.locator("#served-by").textContent(), { timeout: 15_000 }).toBe(replicaIdOf(follower))
    await waitForLeaderShown(page, leaderId, 15_000)
    await expect.poll(() => page.locator("#replicas-body tr").count(), { timeout: 15_000 }).toBe(3)

    // A revoked token, reported by a consumer: the leader mints once more, for that reason.
    const held = await cluster.getToken()
    cluster.sim.revoke(held.accessToken)
    const report = await cluster.reportUnauthorized(held.version)
    expect(report.ok).toBe(true)
    // Versions only grow (they are chosen at commit, not counted): the re-mint is any version above the one held.
    const remints = async () =>
      (await timelineItems(page, "token")).flatMap((text) => {
        const version = Number(/minted v(\d+) \(unauthorized-report\)/.exec(text)?.[1])
        return version > held.version ? [version] : []
      })
    await waitUntil(async () => (await remints()).length > 0, 20_000, "the timeline did not show the re-mint")
    const [remint] = await remints()
    const current = await cluster.getToken()
    expect(current.version).toBe(remint)
    await expect.poll(() => page.locator(`${project44Row} td`).nth(2).textContent(), {
      timeout: 5_000
    }).toBe(`v${remint} (unauthorized-report)`)

    // Reports of the old version again: no mint of their own, but the page's replica counts those it receives
    // (a queue group spreads them over the replicas, so they are sent until some reach it).
    for (let sent = 0; sent < 30 && (await scrape(follower)).total(reportsMetric, provider) === 0; sent++) {
      await cluster.reportUnauthorized(held.version)
    }
    const received = (await scrape(follower)).total(reportsMetric, provider)
    expect(received).toBeGreaterThan(0)
    await expect.poll(() => page.locator(`${project44Row} td`).nth(7).textContent(), {
      timeout: 5_000
    }).toBe(String(received))
    const reports = await timelineItems(page, "unauthorized")
    expect(reports.join("\n")).toContain("received by this replica")
    expect((await remints()).length).toBe(1)

    // The leader killed: a follower takes over, and the marker moves to it.
    leader.replica.kill("SIGKILL")
    await leader.replica.exited
    const next = await cluster.waitForLeader(30_000, leader.revision)
    const nextId = replicaIdOf(next.replica)
    expect(nextId).not.toBe(leaderId)
    await waitForLeaderShown(page, nextId, 30_000)
    await waitUntil(
      async () => (await timelineItems(page, "leader")).some((text) => text.includes(`leader is now ${nextId}`)),
      10_000,
      "the timeline did not show the leader change"
    )
    // The dead replica's member key lapses: the page lists only the live ones.
    await expect.poll(() => page.locator("#replicas-body tr").count(), { timeout: 20_000 }).toBe(2)

    const screenshot = join(tmpdir(), `tokenbus-dashboard-${Date.now()}.png`)
    await page.screenshot({ path: screenshot, fullPage: true })
    process.stdout.write(`dashboard screenshot: ${screenshot}\n`)

    expectNoToken(cluster, await page.content(), "the page's HTML")
    expectNoToken(cluster, await page.locator("body").innerText(), "the page's text")
    expect(problems).toEqual([])
    await page.close()
    cluster.expectNoSecretsInLogs()
    process.stdout.write(`dashboard browser test: ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  })

  it("serves one snapshot reader per replica, at most once a second, only while a page is open; no token", async () => {
    const cluster = await clusterForTest({ replicas: 1 })
    await cluster.firstToken()
    const replica = cluster.replicas[0]!
    const port = await httpPortOf(replica)
    const idle = await requestRate(replica)
    const [streams, open] = await Promise.all([
      Promise.all([readEvents(port, 4_500), readEvents(port, 4_500), readEvents(port, 4_500)]),
      new Promise((r) => setTimeout(r, 500)).then(() => requestRate(replica))
    ])
    const times = streams.map(snapshotTimes)
    for (const each of times) {
      expect(each.length).toBeGreaterThanOrEqual(3)
      for (let i = 1; i < each.length; i++) expect(each[i]! - each[i - 1]!).toBeGreaterThanOrEqual(900)
    }
    // The same snapshots, to the millisecond, reached all three: one reader, shared.
    const common = times[0]!.filter((at) => times[1]!.includes(at) && times[2]!.includes(at))
    expect(common.length).toBeGreaterThanOrEqual(3)
    for (const text of streams) expectNoToken(cluster, text, "the event stream")

    // The reader's KV reads are the replica's traffic while pages are open; after the last one has gone (and
    // the reader's 15 s of grace), its traffic falls back to what it was before: lease renewals.
    process.stdout.write(`replica requests/s: idle ${idle.toFixed(1)}, pages open ${open.toFixed(1)}\n`)
    expect(open - idle).toBeGreaterThan(3)
    await new Promise((r) => setTimeout(r, 17_000))
    const after = await requestRate(replica)
    process.stdout.write(`replica requests/s after the pages went: ${after.toFixed(1)}\n`)
    expect(after - idle).toBeLessThan(1.5)

    // A page still open does not hold up a SIGTERM: its stream is told the replica stops, then ends.
    const open2 = readEvents(port, 20_000)
    await new Promise((r) => setTimeout(r, 1_500))
    const termAt = Date.now()
    const exit = await replica.stop("SIGTERM", 15_000)
    const stopMillis = Date.now() - termAt
    process.stdout.write(`SIGTERM with a page open: exited in ${stopMillis} ms\n`)
    expect(exit.signal).toBeNull()
    expect(stopMillis).toBeLessThan(8_000)
    expect(await open2).toContain("event: status")
  })
})
