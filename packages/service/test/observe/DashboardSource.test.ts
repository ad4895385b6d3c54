// The dashboard's two paths on a replica process's HTTP port, over real HTTP
// on 127.0.0.1: the page at `/` (self-contained: nothing it loads from
// elsewhere, a policy that forbids it, the accessible landmarks), and
// `/events` as server-sent events: "unavailable" (and a retry) before the
// replica attaches its feed and after it stops, each feed message encoded
// as its event in between. The feed is a fixed stream here; the one that
// reads the cluster runs against real NATS in test/Dashboard.test.ts.
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope, Stream } from "effect"
import type { DashboardMessage, DashboardSnapshot } from "../../src/observe/DashboardFeed.ts"
import { Probes } from "../../src/observe/Probes.ts"
import { capturingLayer, type LogLine } from "../support/CapturedLogs.ts"

const get = (port: number, path: string) =>
  Effect.promise(async () => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`)
    return { status: response.status, headers: response.headers, body: await response.text() }
  })

const portOf = (lines: ReadonlyArray<LogLine>): number => {
  const port = lines.find((line) => line.message === "http listening")?.annotations["port"]
  if (typeof port !== "number") throw new Error("no \"http listening\" line with a port")
  return port
}

/** The `event:` and parsed `data:` of each server-sent event in `body`. */
const eventsOf = (body: string) =>
  body.split("\n\n").filter((block) => block.includes("event: ")).map((block) => ({
    event: /^event: (.*)$/m.exec(block)?.[1],
    data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as unknown
  }))

const snapshot: DashboardSnapshot = {
  self: "replica-1",
  status: { prefix: "tb", at: "2026-01-01T00:00:00.000Z", replicas: [], providers: [] },
  reports: { project44: 2 }
}

const messages: ReadonlyArray<DashboardMessage> = [
  { _tag: "status", snapshot },
  {
    _tag: "event",
    event: { event: "unauthorized", at: "2026-01-01T00:00:01.000Z", provider: "project44", count: 2, total: 2 }
  }
]

describe("the dashboard on a replica's HTTP port", () => {
  it.live("serves a self-contained, accessible page", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      yield* Layer.build(Probes.layer({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(capturingLayer(lines))))
      const page = yield* get(portOf(lines), "/")
      assert.strictEqual(page.status, 200)
      assert.include(page.headers.get("content-type") ?? "", "text/html")
      assert.include(page.headers.get("content-security-policy") ?? "", "default-src 'none'")
      assert.notMatch(page.body, /https?:\/\//, "the page names no other address")
      assert.notMatch(page.body, /<(script|link|img)[^>]+(src|href)=/, "the page loads nothing")
      assert.include(page.body, `new EventSource("events")`)
      assert.include(page.body, `aria-live="polite"`)
      assert.include(page.body, "<caption>")
      assert.include(page.body, `<th scope="col">Leader</th>`)
    }))

  it.live("streams unavailable before the feed and after it, and the feed's messages in between", () =>
    Effect.gen(function*() {
      const lines: Array<LogLine> = []
      const context = yield* Layer.build(
        Probes.layer({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(capturingLayer(lines)))
      )
      const probes = Context.get(context, Probes)
      const port = portOf(lines)

      const starting = yield* get(port, "/events")
      assert.strictEqual(starting.status, 200)
      assert.include(starting.headers.get("content-type") ?? "", "text/event-stream")
      assert.include(starting.body, "retry: 1000\n")
      assert.deepStrictEqual(eventsOf(starting.body), [
        { event: "unavailable", data: { reason: "the replica is starting: connecting to NATS" } }
      ])

      const replica = yield* Scope.make()
      yield* probes.dashboard.attach({ messages: Stream.fromIterable(messages) }).pipe(Scope.provide(replica))
      const fed = yield* get(port, "/events")
      assert.deepStrictEqual(eventsOf(fed.body), [
        { event: "status", data: snapshot },
        { event: "timeline", data: messages[1]!._tag === "event" ? messages[1]!.event : null }
      ])

      yield* Scope.close(replica, Exit.void)
      const stopping = yield* get(port, "/events")
      assert.deepStrictEqual(eventsOf(stopping.body), [
        { event: "unavailable", data: { reason: "the replica is stopping" } }
      ])
    }))
})
