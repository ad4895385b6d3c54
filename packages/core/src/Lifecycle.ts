/**
 * When a provider's token is renewed before anyone reports it. `on-401`:
 * never (project44's advice: reuse a token until the upstream refuses it).
 * `proactive`: at `renewAt` of its known lifetime, give or take `jitter` of
 * it, so that replicas of many deployments do not renew in step. A lifetime
 * the upstream did not state, or stated absurdly (none, negative, or beyond
 * `maxAgeMillis`), counts as `maxAgeMillis`.
 */
import { Schema } from "effect"
import { PositiveInt, withDefault } from "./Fields.ts"

const Fraction = Schema.Number.check(
  Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true })
)

export const Lifecycle = Schema.Union([
  Schema.Struct({ mode: Schema.Literal("on-401") }),
  Schema.Struct({
    mode: Schema.Literal("proactive"),
    renewAt: withDefault(Fraction, 0.5),
    jitter: withDefault(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 0.5 })), 0.1),
    maxAgeMillis: withDefault(PositiveInt, 12 * 3_600_000)
  })
])
export type Lifecycle = typeof Lifecycle.Type

export const onUnauthorized: Lifecycle = { mode: "on-401" }

export const proactive = (renewAt = 0.5): Lifecycle => ({ mode: "proactive", renewAt, jitter: 0.1, maxAgeMillis: 12 * 3_600_000 })

/** The lifetime to plan with: the stated one when it is sane, else the maximum age. */
export const plannedLifetime = (maxAgeMillis: number, token: { readonly issuedAt: number; readonly expiresAt?: number }) => {
  const stated = token.expiresAt === undefined ? undefined : token.expiresAt - token.issuedAt
  return stated === undefined || stated <= 0 || stated > maxAgeMillis ? maxAgeMillis : stated
}

/**
 * When to renew `token` (epoch ms), or undefined for never. `random` is in
 * [0, 1), passed in to keep this pure; draw it once per token.
 */
export const renewalDueAt = (
  lifecycle: Lifecycle,
  token: { readonly issuedAt: number; readonly expiresAt?: number },
  random: number
): number | undefined => {
  if (lifecycle.mode === "on-401") return undefined
  const fraction = Math.min(0.99, Math.max(0.01, lifecycle.renewAt + lifecycle.jitter * (2 * random - 1)))
  return token.issuedAt + Math.round(plannedLifetime(lifecycle.maxAgeMillis, token) * fraction)
}
