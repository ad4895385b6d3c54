/**
 * The shipments service as a process: configured by its environment
 * (NATS_SERVERS, comma-separated; TOKENBUS_PREFIX; PROJECT44_SHIPMENTS_URL;
 * PORT), it prints its URL once it listens and stops on SIGTERM or SIGINT.
 */
import { startShipmentsService } from "./shipmentsService.mjs"

const env = process.env
const service = await startShipmentsService({
  // Started beside NATS (compose, Kubernetes), it waits for NATS instead of failing.
  nats: { servers: (env.NATS_SERVERS ?? "nats://127.0.0.1:4222").split(","), waitOnFirstConnect: true },
  prefix: env.TOKENBUS_PREFIX,
  shipmentsUrl: env.PROJECT44_SHIPMENTS_URL ?? "https://na12.api.project44.com/api/v4/shipments",
  port: Number(env.PORT ?? 8080),
  host: env.HOST ?? "127.0.0.1"
})
console.log(`shipments-service listening on ${service.url}`)

for (const signal of ["SIGTERM", "SIGINT"]) process.once(signal, () => void service.close())
