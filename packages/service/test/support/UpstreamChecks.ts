/**
 * Checks every minter's tests make on what it produced: its errors are
 * typed, name the provider and never carry a secret; its tokens work against
 * the simulator; its Basic credentials decode to what was configured.
 */
import { expect } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import type { MintedToken } from "../../src/kinds/ProviderKind.ts"
import { UpstreamError } from "../../src/upstream/UpstreamError.ts"

/**
 * A check that `error` is `provider`'s UpstreamError with none of `secrets`
 * (by default `defaultSecrets`) in its message or its JSON.
 */
export const upstreamErrorCheck = (provider: string, defaultSecrets: ReadonlyArray<string>) =>
(error: unknown, secrets: ReadonlyArray<string> = defaultSecrets): UpstreamError => {
  expect(error).toBeInstanceOf(UpstreamError)
  const upstream = error as UpstreamError
  expect(upstream.provider).toBe(provider)
  for (const secret of secrets) {
    expect(upstream.message).not.toContain(secret)
    expect(JSON.stringify(upstream)).not.toContain(secret)
  }
  return upstream
}

/** The status a simulator's resource answers `token` with. */
export const resourceStatus = (upstream: { readonly resourceUrl: string }, token: MintedToken) =>
  Effect.promise(async () => {
    const response = await fetch(upstream.resourceUrl, {
      headers: { authorization: `Bearer ${Redacted.value(token.accessToken)}` }
    })
    await response.arrayBuffer()
    return response.status
  })

/** The client id and secret of a Basic `authorization` header, each URL-decoded as RFC 6749 §2.3.1 has it. */
export const basicCredentials = (authorization: string | undefined): [id: string, secret: string] => {
  const encoded = /^Basic (\S+)$/.exec(authorization ?? "")?.[1] ?? ""
  const [id, secret] = Buffer.from(encoded, "base64").toString("utf8").split(":")
  return [decodeURIComponent(id ?? ""), decodeURIComponent(secret ?? "")]
}
