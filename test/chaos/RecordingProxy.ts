/**
 * An HTTP proxy on 127.0.0.1 between the replicas and a simulated upstream's
 * token endpoint, recording every call: when it arrived, when it was answered
 * and with what status, and for a refresh-token grant a fingerprint of the
 * refresh token presented. The simulators keep counters but not times, and
 * the rate-limit and replay checks need the times and the tokens of each
 * call as the upstream saw them.
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { fingerprint, type History } from "./History.ts"

export interface RecordingProxy {
  /** http://127.0.0.1:<port>, standing for the upstream's base URL. */
  readonly baseUrl: string
  close(): Promise<void>
}

export interface RecordingProxyOptions {
  /** The upstream's base URL (http://127.0.0.1:<port>). */
  readonly target: string
  /** The provider the calls are recorded for; "" with `providerFromPath`. */
  readonly provider: string
  /**
   * Many providers through one proxy (the scale run): a call to `/<provider>/<path>` is recorded for
   * `<provider>` and forwarded to `<path>`.
   */
  readonly providerFromPath?: boolean
  readonly history: History
  /** Told of each call as it arrives, before it is forwarded. */
  readonly onArrival?: () => void
}

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

const presentedRefreshToken = (body: Buffer): string | undefined => {
  const token = new URLSearchParams(body.toString("utf8")).get("refresh_token")
  return token === null || token === "" ? undefined : fingerprint(token)
}

export const startRecordingProxy = async (options: RecordingProxyOptions): Promise<RecordingProxy> => {
  const target = new URL(options.target)
  // A connection per call: a kept-alive socket the simulator closes as idle just when a call reuses it fails
  // that call before it reaches the simulator, and the 502 this proxy then answers made the replica present
  // the same refresh token again, which the replay check took for a replay the upstream never saw.
  const agent = new Agent({ keepAlive: false })

  const route = (url: string) => {
    if (options.providerFromPath !== true) return { provider: options.provider, path: url }
    const [, provider = "", ...rest] = url.split("/")
    return { provider: decodeURIComponent(provider), path: `/${rest.join("/")}` }
  }

  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = Date.now()
    const { path, provider } = route(req.url ?? "/")
    options.onArrival?.()
    let recorded = false
    let refreshToken: string | undefined
    const record = (status: number | undefined) => {
      if (recorded) return
      recorded = true
      const refresh = refreshToken === undefined ? {} : { refreshToken }
      options.history.add({ type: "upstream", at, end: Date.now(), provider, status, ...refresh })
    }
    // A caller that goes away before the answer (a replica killed mid-call) still made the call.
    res.on("close", () => record(res.writableFinished ? res.statusCode : undefined))
    const body = await readBody(req)
    refreshToken = presentedRefreshToken(body)
    const upstream = request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path,
      headers: { ...req.headers, host: target.host },
      agent
    }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end()
      else res.destroy()
    })
    upstream.end(body)
  }

  const server = createServer((req, res) => {
    forward(req, res).catch(() => res.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      agent.destroy()
    }
  }
}
