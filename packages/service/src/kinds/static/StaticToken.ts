/**
 * A token nobody mints: an operator puts it in an environment variable or a
 * file (a mounted Kubernetes secret, say), and tokenbus hands it out like any
 * other. Each mint reads it again, so a 401 report picks up a replaced file.
 * `changes` tells the leader when the file's content changes, so it can commit
 * the new token without waiting for a consumer to fail with the old one.
 *
 * A file is watched by polling its content by path rather than with
 * `fs.watch`: editors save by writing a new file and renaming it over the old
 * one, and Kubernetes swaps a symlink, both of which leave an inode watch on
 * the old file. Only a digest of the content is kept between polls.
 */
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { onUnauthorized, ProviderId } from "@tokenbus/core"
import { Effect, Redacted, Schedule, Schema, Stream } from "effect"
import { PositiveInt, withDefault } from "../../config/ConfigFields.ts"
import { resolveSecret } from "../../config/Secret.ts"
import { UpstreamError } from "../../upstream/UpstreamError.ts"
import type { MintedToken, Minter, ProviderKind } from "../ProviderKind.ts"


export const StaticTokenConfig = Schema.Struct({
  id: ProviderId,
  kind: Schema.Literal("static"),
  /** Where the token is: never in the config file itself. */
  token: Schema.Union([
    Schema.Struct({ env: Schema.NonEmptyString }),
    Schema.Struct({ file: Schema.NonEmptyString })
  ]),
  /** How often `changes` reads the file. */
  pollMillis: withDefault(PositiveInt, 1_000)
})
export type StaticTokenConfig = typeof StaticTokenConfig.Type

const make = (config: StaticTokenConfig): Minter => {
  const fromEnv = "env" in config.token
  const read = resolveSecret(`static token of provider ${config.id}`, config.token).pipe(
    Effect.mapError((error) =>
      new UpstreamError({
        provider: config.id,
        // A variable cannot change under a running process, so only an operator
        // can fix it; a file may be missing or empty for a moment while replaced.
        kind: fromEnv ? "credentials-rejected" : "transient",
        message: error.message
      })
    ),
    Effect.filterOrFail(
      (token) => Redacted.value(token).trim().length > 0,
      () =>
        new UpstreamError({
          provider: config.id,
          kind: "credentials-rejected",
          message: `static token of provider ${config.id}: environment variable is empty`
        })
    )
  )
  const mint = read.pipe(
    Effect.map((accessToken): MintedToken => ({ accessToken, tokenType: "Bearer", expiresInSeconds: undefined })),
    Effect.withSpan("StaticToken.mint", { attributes: { provider: config.id } })
  )
  return { mint: () => mint }
}

const digest = (text: string): string => createHash("sha256").update(text).digest("hex")

/** The digest of the file's token, or undefined while it cannot be read or is empty. */
const readDigest = (file: string) =>
  Effect.tryPromise(() => readFile(file, "utf8")).pipe(
    Effect.map((text) => text.trim()),
    Effect.map((token) => (token.length === 0 ? undefined : digest(token))),
    Effect.orElseSucceed(() => undefined)
  )

/** What `changes` remembers between polls: whether it has a baseline, and the last digest seen. */
interface Watch {
  readonly polled: boolean
  readonly last: string | undefined
}

/**
 * Emits each time the token file's content changes. `current`, the token the
 * caller holds, is the baseline: if the file already holds another, the first
 * poll emits, which covers a change made before the caller started watching
 * (or while another leader held the provider). Without it, the first poll is
 * the baseline, so a file missing at first emits when it appears. A file that
 * is missing or empty for a while is ignored until it holds a token again.
 * An environment variable never changes under a running process: the stream
 * then never emits.
 */
const changes = (config: StaticTokenConfig, current?: Redacted.Redacted<string>): Stream.Stream<void> => {
  if (!("file" in config.token)) return Stream.never
  const baseline = current === undefined ? undefined : digest(Redacted.value(current).trim())
  return Stream.fromEffectSchedule(readDigest(config.token.file), Schedule.spaced(config.pollMillis)).pipe(
    Stream.mapAccum(
      (): Watch => ({ polled: current !== undefined, last: baseline }),
      (state, seen): readonly [Watch, ReadonlyArray<void>] => {
        if (!state.polled) return [{ polled: true, last: seen }, []]
        if (seen === undefined || seen === state.last) return [state, []]
        return [{ polled: true, last: seen }, [undefined]]
      }
    )
  )
}

export const StaticToken = {
  name: "static",
  config: StaticTokenConfig,
  // The token itself is read at each mint, so a replaced file is picked up.
  resolve: (config) => Effect.succeed(config),
  minter: make,
  lifecycle: () => onUnauthorized,
  watch: changes
} satisfies ProviderKind<typeof StaticTokenConfig.fields, StaticTokenConfig>
