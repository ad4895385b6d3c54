/**
 * The replica process's HTTP port (the `http` section of its configuration):
 * `/healthz` and `/readyz` for Kubernetes probes (200, or 503 with a short
 * JSON reason), `/metrics` in Prometheus text for its own registry, with
 * the process's default metrics (CPU, memory, event loop) beside tokenbus's,
 * and the dashboard: its page at `/` (DashboardPage.ts) and its
 * server-sent events at `/events` (DashboardSource.ts).
 * Served by Effect's Node HTTP server for as long as the scope lasts; every
 * other path is a 404, and only GET and HEAD are answered.
 */
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, type Scope } from "effect"
import { HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { collectDefaultMetrics } from "prom-client"
import { defaultHttpHost, type HttpConfig } from "../config/HttpConfig.ts"
import { dashboardPage, dashboardPolicy } from "./DashboardPage.ts"
import type { DashboardSource } from "./DashboardSource.ts"
import type { Probe } from "./Probe.ts"
import type { ReplicaMetricsShape } from "./ReplicaMetrics.ts"

export interface Served {
  readonly metrics: ReplicaMetricsShape
  readonly alive: Effect.Effect<Probe>
  readonly ready: Effect.Effect<Probe>
  readonly dashboard: DashboardSource
}

const noStore = { "cache-control": "no-store" }

const probeReply = (probe: Probe, up: string) =>
  HttpServerResponse.jsonUnsafe(probe.ok ? { status: up } : { status: "unavailable", reason: probe.reason }, {
    status: probe.ok ? 200 : 503,
    headers: noStore
  })

const pathOf = (url: string): string => {
  const query = url.indexOf("?")
  return query === -1 ? url : url.slice(0, query)
}

const app = ({ alive, dashboard, metrics, ready }: Served) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (request.method !== "GET" && request.method !== "HEAD") {
      return HttpServerResponse.text("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } })
    }
    switch (pathOf(request.url)) {
      case "/healthz":
        return probeReply(yield* alive, "alive")
      case "/readyz":
        return probeReply(yield* ready, "ready")
      case "/metrics": {
        const text = yield* Effect.promise(() => metrics.registry.metrics())
        return HttpServerResponse.text(text, { contentType: metrics.registry.contentType, headers: noStore })
      }
      case "/":
        return HttpServerResponse.text(dashboardPage, {
          contentType: "text/html; charset=utf-8",
          headers: { ...noStore, "content-security-policy": dashboardPolicy }
        })
      case "/events":
        return HttpServerResponse.stream(dashboard.events, {
          contentType: "text/event-stream",
          headers: { ...noStore, "x-accel-buffering": "no" }
        })
      default:
        return HttpServerResponse.text("not found\n", { status: 404 })
    }
  })

/** Serves the probes and `/metrics` on `http.port` until the scope closes; logs "http listening" with the port. */
export const serveHttp = (http: HttpConfig, served: Served): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    collectDefaultMetrics({ register: served.metrics.registry })
    const host = http.host ?? defaultHttpHost
    const server = yield* NodeHttpServer.make(() => createServer(), {
      port: http.port,
      host,
      // A probe or a scrape is quick: a shutdown does not wait on a client that keeps its connection open.
      gracefulShutdownTimeout: "1 second"
    }).pipe(Effect.orDie)
    yield* HttpServer.serveEffect()(app(served)).pipe(Effect.provideService(HttpServer.HttpServer, server))
    const port = server.address._tag === "UnixPathAddress" ? http.port : server.address.port
    yield* Effect.logInfo("http listening").pipe(Effect.annotateLogs({ port, host }))
  })
