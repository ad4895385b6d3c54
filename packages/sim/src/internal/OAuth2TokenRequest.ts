/**
 * The checks every OAuth2 token request passes before its grant is looked at,
 * shared by project44's `client_credentials` endpoint and the `refresh_token`
 * one: a form body, the expected `grant_type`, and client credentials sent one
 * way only, HTTP Basic or form fields (RFC 6749 §2.3). A malformed request
 * carries the body of its 400 answer.
 */
import type { IncomingMessage } from "node:http"
import { type ClientAuthentication, clientAuthentication } from "./ClientAuthentication.ts"

const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

export type OAuth2TokenRequest =
  | { readonly _tag: "Malformed"; readonly error: Readonly<Record<string, string>> }
  | {
    readonly _tag: "WellFormed"
    readonly form: URLSearchParams
    readonly authentication: Extract<ClientAuthentication, { _tag: "Presented" }>
  }

export const parseOAuth2TokenRequest = (req: IncomingMessage, body: string, grantType: string): OAuth2TokenRequest => {
  if (!isForm(req.headers["content-type"])) {
    return malformed({ error: "invalid_request", error_description: `Content-Type must be ${FORM_CONTENT_TYPE}` })
  }
  const form = new URLSearchParams(body)
  if (form.get("grant_type") !== grantType) return malformed({ error: "unsupported_grant_type" })
  const authentication = clientAuthentication(req.headers.authorization, form)
  if (authentication._tag === "Ambiguous") {
    return malformed({
      error: "invalid_request",
      error_description: "Use either HTTP Basic or client_id/client_secret in the body, not both"
    })
  }
  return { _tag: "WellFormed", form, authentication }
}

const malformed = (error: Readonly<Record<string, string>>): OAuth2TokenRequest => ({ _tag: "Malformed", error })

// A missing Content-Type is tolerated: curl-style clients often omit it.
const isForm = (contentType: string | undefined): boolean =>
  contentType === undefined || contentType.toLowerCase().split(";")[0]?.trim() === FORM_CONTENT_TYPE
