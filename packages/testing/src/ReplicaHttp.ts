/**
 * A replica process's HTTP port as tests reach it: the port it logged
 * ("http listening", ReplicaConfig.ts gives each a free one on 127.0.0.1),
 * and plain GETs of its probes and metrics, with Prometheus text read back
 * into numbers so a test can compare a series before and after.
 */
import { logMsg } from "./LogLine.ts"
import type { ReplicaProcess } from "./ReplicaProcess.ts"

export interface HttpAnswer {
  readonly status: number
  readonly contentType: string
  readonly text: string
}

/** The port `replica` logged it listens on; waits for the line up to `timeoutMs`. */
export const httpPortOf = async (replica: ReplicaProcess, timeoutMs = 10_000): Promise<number> => {
  const line = await replica.waitForLog(logMsg("http listening"), timeoutMs)
  const port = line["port"]
  if (typeof port !== "number") throw new Error(`${replica.name}: "http listening" without a port`)
  return port
}

/** GET `path` on the replica's HTTP port (127.0.0.1). */
export const httpGet = async (replica: ReplicaProcess, path: string, timeoutMs = 5_000): Promise<HttpAnswer> => {
  const port = await httpPortOf(replica)
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) })
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text: await response.text() }
}

/**
 * The value of one series of a Prometheus text page: `name` with exactly
 * `labels` (in any order); undefined when the page has no such series.
 */
export const metricValue = (
  page: string,
  name: string,
  labels: Readonly<Record<string, string>> = {}
): number | undefined => {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`).sort().join(",")
  for (const line of page.split("\n")) {
    if (line.startsWith("#")) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const found = (match[2] ?? "").split(",").filter((pair) => pair !== "").sort().join(",")
    if (found === wanted) return Number(match[3])
  }
  return undefined
}

/** The sum of every series of `name` whose labels include `where` (0 when there is none). */
export const metricTotal = (
  page: string,
  name: string,
  where: Readonly<Record<string, string>> = {}
): number => {
  let total = 0
  for (const line of page.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const labels = new Set((match[2] ?? "").split(",").filter((pair) => pair !== ""))
    if (Object.entries(where).every(([key, value]) => labels.has(`${key}="${value}"`))) total += Number(match[3])
  }
  return total
}

export interface Scraped {
  readonly page: string
  /** One series, exactly: see `metricValue`. */
  readonly value: (name: string, labels?: Readonly<Record<string, string>>) => number | undefined
  /** Every series that has these labels, summed: see `metricTotal`. */
  readonly total: (name: string, where?: Readonly<Record<string, string>>) => number
}

/** The replica's `/metrics` page, read into look-ups. */
export const scrape = async (replica: ReplicaProcess): Promise<Scraped> => {
  const page = (await httpGet(replica, "/metrics")).text
  return {
    page,
    value: (name, labels = {}) => metricValue(page, name, labels),
    total: (name, where = {}) => metricTotal(page, name, where)
  }
}
