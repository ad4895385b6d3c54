/**
 * `/_sim/*`: HTTP controls for callers outside the process that started a sim
 * (the demo, child processes). Every simulator serves the same core (its
 * counters, revoking one token, revoking all) and may add routes of its own.
 * They mirror the in-process control methods and never touch the counters or
 * a rate limit, so tests can use them without skewing what they assert.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Option, Schema } from "effect"
import { readBody } from "./readBody.ts"
import { sendJson } from "./sendJson.ts"

export const ADMIN_PREFIX = "/_sim/"

export interface AdminControls {
  readonly counters: () => object
  readonly revoke: (token: string) => void
  readonly revokeAll: () => void
  /**
   * The JSON field `POST /_sim/revoke` takes the token from. The project44 sim
   * has only access tokens and says `access_token`; the others revoke tokens
   * of any kind and say `token`.
   */
  readonly revokeField: "access_token" | "token"
  /** A sim's own routes, keyed "METHOD /_sim/name": each returns the body of its 200 answer. */
  readonly extraRoutes?: Readonly<Record<string, () => object>>
}

export type AdminEndpoints = (path: string, req: IncomingMessage, res: ServerResponse) => void

/** An action as a route answer: run it, then acknowledge. */
export const acknowledged = (action: () => void) => (): object => {
  action()
  return { ok: true }
}

export const makeAdminEndpoints = (controls: AdminControls): AdminEndpoints => {
  const { revokeField } = controls
  const decodeRevokeRequest = Schema.decodeUnknownOption(
    Schema.fromJsonString(Schema.Struct({ [revokeField]: Schema.String }))
  )
  // Route keys hold a space, so no lookup can hit an Object.prototype member.
  const routes: Readonly<Record<string, () => object>> = {
    "GET /_sim/counters": controls.counters,
    "POST /_sim/revoke-all": acknowledged(controls.revokeAll),
    ...controls.extraRoutes
  }

  const revoke = (req: IncomingMessage, res: ServerResponse): void => {
    readBody(req).then(
      (body) => {
        const token = Option.getOrUndefined(decodeRevokeRequest(body))?.[revokeField]
        if (token === undefined) {
          const description = `Expected JSON {"${revokeField}": string}`
          return sendJson(res, 400, { error: "invalid_request", error_description: description })
        }
        controls.revoke(token)
        sendJson(res, 200, { ok: true })
      },
      () => undefined // the client went away mid-body; nobody is left to answer
    )
  }

  return (path, req, res) => {
    const route = `${req.method ?? ""} ${path}`
    if (route === "POST /_sim/revoke") return revoke(req, res)
    req.resume()
    const answer = routes[route]
    if (answer === undefined) return sendJson(res, 404, { error: "not_found" })
    sendJson(res, 200, answer())
  }
}
