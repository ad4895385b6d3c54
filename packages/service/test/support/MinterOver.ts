/**
 * A minter with its `HttpClient` provided, so a test can run it like any
 * effect: `overFetch` sends its calls through effect's fetch client, as a
 * replica does (against the simulators and local servers on loopback);
 * `minterOver(layer)` through a client the test built.
 */
import { Effect, type Layer } from "effect"
import { FetchHttpClient, type HttpClient } from "effect/http"
import type { MintedToken, Minter, MintInput } from "../../src/kinds/ProviderKind.ts"
import type { UpstreamError } from "../../src/upstream/UpstreamError.ts"

export interface ProvidedMinter {
  readonly mint: (input: MintInput) => Effect.Effect<MintedToken, UpstreamError>
}

export const minterOver = (client: Layer.Layer<HttpClient.HttpClient>) => (minter: Minter): ProvidedMinter => ({
  mint: (input) => minter.mint(input).pipe(Effect.provide(client))
})

export const overFetch: (minter: Minter) => ProvidedMinter = minterOver(FetchHttpClient.layer)
