/**
 * Works out how a token request authenticates the client. project44 accepts
 * either HTTP Basic or `client_id`/`client_secret` form fields, but (as RFC 6749
 * §2.3 requires) not both in the same request.
 */

export interface ClientCredentials {
  readonly clientId: string
  readonly clientSecret: string
}

export type ClientAuthentication =
  | { readonly _tag: "Ambiguous" }
  /**
   * `candidates` is empty when the client presented nothing usable; it may hold
   * two readings of one Basic header (see `basicCandidates`).
   */
  | { readonly _tag: "Presented"; readonly candidates: ReadonlyArray<ClientCredentials> }

export const clientAuthentication = (
  authorization: string | undefined,
  form: URLSearchParams
): ClientAuthentication => {
  const basic = basicPayload(authorization)
  const inBody = form.has("client_id") || form.has("client_secret")
  if (basic !== undefined && inBody) return { _tag: "Ambiguous" }
  if (basic !== undefined) return { _tag: "Presented", candidates: basicCandidates(basic) }
  if (inBody) {
    const candidate = { clientId: form.get("client_id") ?? "", clientSecret: form.get("client_secret") ?? "" }
    return { _tag: "Presented", candidates: [candidate] }
  }
  return { _tag: "Presented", candidates: [] }
}

export const matchesCredentials = (
  authentication: ClientAuthentication,
  expected: ClientCredentials
): boolean =>
  authentication._tag === "Presented" &&
  authentication.candidates.some(
    (candidate) => candidate.clientId === expected.clientId && candidate.clientSecret === expected.clientSecret
  )

const basicPayload = (authorization: string | undefined): string | undefined => {
  const match = /^basic\s+(\S+)\s*$/i.exec(authorization ?? "")
  return match?.[1]
}

// RFC 6749 §2.3.1 says id and secret are form-urlencoded before base64, but
// many clients skip that step. Accepting both readings keeps the sim neutral
// about which convention the broker under test follows.
const basicCandidates = (payload: string): ReadonlyArray<ClientCredentials> => {
  const decoded = Buffer.from(payload, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon < 0) return []
  const raw = { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) }
  const unescaped = formUnescape(raw)
  return unescaped === undefined ? [raw] : [raw, unescaped]
}

const formUnescape = (credentials: ClientCredentials): ClientCredentials | undefined => {
  try {
    const unescape = (value: string) => decodeURIComponent(value.replace(/\+/g, " "))
    return { clientId: unescape(credentials.clientId), clientSecret: unescape(credentials.clientSecret) }
  } catch {
    return undefined
  }
}
