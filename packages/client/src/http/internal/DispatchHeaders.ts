/**
 * The headers of an undici dispatch, which come as an object, a flat
 * `[name, value, ...]` array or an iterable of pairs: read in any of these
 * forms, and written back as a flat array with the `Authorization` header
 * replaced, which keeps repeated headers as they were.
 */
import type { Dispatcher } from "undici"

type DispatchHeaders = Dispatcher.DispatchOptions["headers"]
type HeaderValue = string | number | ReadonlyArray<string> | null | undefined

const pairsOf = (headers: DispatchHeaders): ReadonlyArray<readonly [string, HeaderValue]> => {
  if (headers === undefined || headers === null) return []
  if (Array.isArray(headers)) {
    const flat = headers as ReadonlyArray<string>
    return Array.from({ length: Math.floor(flat.length / 2) }, (_, i) => [flat[2 * i] ?? "", flat[2 * i + 1]] as const)
  }
  if (Symbol.iterator in headers) return [...(headers as Iterable<[string, HeaderValue]>)]
  return Object.entries(headers as Record<string, HeaderValue>)
}

/** Whether the headers name `name` (lower case), with a value. */
export const hasHeader = (headers: DispatchHeaders, name: string): boolean =>
  pairsOf(headers).some(([key, value]) => key.toLowerCase() === name && value !== undefined && value !== null)

/** `headers` with `authorization: value` in place of any `Authorization` they had. */
export const withAuthorization = (headers: DispatchHeaders, value: string): Array<string> => {
  const flat: Array<string> = []
  for (const [key, entry] of pairsOf(headers)) {
    if (key.toLowerCase() === "authorization" || entry === undefined || entry === null) continue
    for (const one of Array.isArray(entry) ? entry : [entry]) flat.push(key, String(one))
  }
  flat.push("authorization", value)
  return flat
}
