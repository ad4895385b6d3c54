// The local NATS server of @tokenbus/devstack, which `tokenbus dev`, the
// bench and this suite's globalSetup all run on: a nats-server child process
// that serves JetStream on 127.0.0.1 at the ports it reports, goes away with
// its store when its scope closes, and fails with a NatsServerError that
// says why when it cannot start.
import { describe, expect, it } from "@effect/vitest"
import { Kvm } from "@nats-io/kv"
import { connect } from "@nats-io/transport-node"
import { acquireNatsServer, type NatsServerProcess } from "@tokenbus/devstack"
import { existsSync } from "node:fs"
import { Effect } from "effect"

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

interface Varz {
  readonly host: string
  readonly port: number
  readonly http_host: string
  readonly jetstream?: { readonly config?: { readonly store_dir?: string } }
}

const varz = (server: NatsServerProcess) =>
  Effect.promise(async () =>
    (await (await fetch(`http://127.0.0.1:${server.monitorPort}/varz`)).json()) as Varz
  )

/** A KV write and read through the server's URL: JetStream is up and reachable there. */
const kvRoundTrip = (server: NatsServerProcess) =>
  Effect.acquireUseRelease(
    Effect.promise(() => connect({ servers: server.url, name: "devstack-test" })),
    (nc) =>
      Effect.promise(async () => {
        const kv = await new Kvm(nc).create(`devstack_${server.port}`)
        const revision = await kv.put("key", "value")
        return { revision, value: (await kv.get("key"))?.string() }
      }),
    (nc) => Effect.promise(() => nc.close())
  )

/** Runs `effect` with NATS_SERVER_BIN set to `value`, restoring it afterwards. */
const withBinary = <A, E, R>(value: string, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const previous = process.env["NATS_SERVER_BIN"]
      process.env["NATS_SERVER_BIN"] = value
      return previous
    }),
    () => effect,
    (previous) =>
      Effect.sync(() => {
        if (previous === undefined) delete process.env["NATS_SERVER_BIN"]
        else process.env["NATS_SERVER_BIN"] = previous
      })
  )

describe("a local nats-server", () => {
  it.live("serves JetStream on 127.0.0.1 at its reported ports, and is gone with its store once the scope closes", () =>
    Effect.gen(function*() {
      const { server, storeDir } = yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* acquireNatsServer()
        expect(server.url).toBe(`nats://127.0.0.1:${server.port}`)
        expect(yield* kvRoundTrip(server)).toEqual({ revision: 1, value: "value" })
        // Read from the reported monitor port, so that one is right too (`http_port` shows -1, "pick one").
        const vars = yield* varz(server)
        expect(vars).toMatchObject({ host: "127.0.0.1", port: server.port, http_host: "127.0.0.1" })
        const storeDir = vars.jetstream?.config?.store_dir ?? ""
        expect(existsSync(storeDir), storeDir).toBe(true)
        expect(isAlive(server.pid)).toBe(true)
        return { server, storeDir }
      }))
      expect(isAlive(server.pid)).toBe(false)
      expect(existsSync(storeDir)).toBe(false)
    }))

  it.live("starts servers side by side on ports of their own, and on a port asked for", () =>
    Effect.gen(function*() {
      const first = yield* acquireNatsServer()
      const second = yield* acquireNatsServer()
      expect(new Set([first.port, first.monitorPort, second.port, second.monitorPort]).size).toBe(4)
      // The port of a server that is gone again, so very likely free.
      const port = yield* Effect.scoped(acquireNatsServer().pipe(Effect.map((server) => server.port)))
      const asked = yield* acquireNatsServer({ port })
      expect(asked.port).toBe(port)
      expect((yield* kvRoundTrip(asked)).revision).toBe(1)
    }))

  it.live("fails with a NatsServerError naming the binary when it cannot be run", () =>
    Effect.gen(function*() {
      const error = yield* withBinary("/nonexistent/nats-server", Effect.scoped(acquireNatsServer())).pipe(Effect.flip)
      expect(error._tag).toBe("NatsServerError")
      expect(error.message).toContain("cannot start /nonexistent/nats-server")
    }))

  it.live("fails with a NatsServerError giving the server's last words when its port is taken", () =>
    Effect.gen(function*() {
      const taken = yield* acquireNatsServer()
      const error = yield* Effect.scoped(acquireNatsServer({ port: taken.port })).pipe(Effect.flip)
      expect(error._tag).toBe("NatsServerError")
      expect(error.message).toMatch(/exited \(1\)/)
      expect(error.message).toContain("address already in use")
    }))
})
