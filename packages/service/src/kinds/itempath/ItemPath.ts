/**
 * ItemPath's username/password authentication. `POST /api/users/login` (JSON
 * `{username, password}`) answers an access token, which lives 15 minutes,
 * and a refresh token, which lives 30 days; `POST /api/users/refresh` with the
 * refresh token as bearer answers a new access token; `POST
 * /api/users/application-token`, the same way, answers an access token that
 * never expires (for users of type "Application" only). ItemPath announces no
 * lifetimes, so the documented ones are configuration.
 *
 * The refresh token and its expiry travel in the carry (JSON, inside
 * `Redacted`), so every mint after the first costs one refresh call, across
 * failovers too. A refresh token the upstream refuses costs one login more; one
 * that is near its end is not tried, a login replaces it. With
 * `applicationToken`, each mint logs in and asks for an application token,
 * which has no expiry: the leader keeps it until a consumer reports a 401.
 * Nothing is carried then, so no long-lived secret sits in KV.
 */
import { ProviderId } from "@tokenbus/core"
import { Clock, Effect, Option, Redacted, Schema } from "effect"
import type { MintedToken, Minter, MintInput } from "./Minter.ts"
import { resolveSecret, SecretRef } from "./Secret.ts"
import { HttpUrl, NonNegativeInt, PositiveInt, withDefault } from "./ConfigFields.ts"
import { exchange, readJson } from "./internal/UpstreamCall.ts"
import { kindOfStatus, upstreamFailure } from "./UpstreamError.ts"

export const ItemPathConfig = Schema.Struct({
  id: ProviderId,
  kind: Schema.Literal("itempath"),
  /** Where ItemPath answers, e.g. `https://acme.itempath.com`; `/api/users/...` is appended. */
  baseUrl: HttpUrl,
  username: Schema.NonEmptyString,
  password: SecretRef,
  /** Mint non-expiring application tokens instead of 15-minute access tokens. */
  applicationToken: withDefault(Schema.Boolean, false),
  /** ItemPath's access token lifetime; it does not say so in its answers. */
  accessTokenLifetimeSeconds: withDefault(PositiveInt, 900),
  refreshTokenLifetimeSeconds: withDefault(PositiveInt, 30 * 86_400),
  /** Log in again rather than refresh once the refresh token has less than this left. */
  refreshMarginSeconds: withDefault(NonNegativeInt, 86_400),
  /** How long one call to ItemPath may take. */
  timeoutMillis: withDefault(PositiveInt, 10_000)
}).check(
  Schema.makeFilter((config) =>
    config.refreshMarginSeconds < config.refreshTokenLifetimeSeconds ||
    "refreshMarginSeconds must be less than refreshTokenLifetimeSeconds"
  )
)
export type ItemPathConfig = typeof ItemPathConfig.Type

export interface ResolvedItemPathConfig extends Omit<ItemPathConfig, "password"> {
  readonly password: Redacted.Redacted<string>
}

const Token = Schema.RedactedFromValue(Schema.NonEmptyString)

/**
 * What the carry holds. The expiry is by the leader's clock when it logged in;
 * the username and base URL say whose session it is, so a config that names
 * another user or installation logs in instead of refreshing someone else's.
 */
const Session = Schema.Struct({
  refreshToken: Token,
  refreshTokenExpiresAt: Schema.Int,
  username: Schema.String,
  baseUrl: Schema.String
})
type Session = typeof Session.Type
const SessionJson = Schema.fromJsonString(Session)
const encodeSession = Schema.encodeSync(SessionJson)
const decodeSession = Schema.decodeUnknownOption(SessionJson)

const decodeLogin = Schema.decodeUnknownEffect(Schema.Struct({ accessToken: Token, refreshToken: Token }))
const decodeRefresh = Schema.decodeUnknownEffect(Schema.Struct({ accessToken: Token }))
// ItemPath's public docs do not show this answer; the simulator sends
// `applicationToken`, and `accessToken` (the name of the other answers) is accepted too.
const decodeApplicationToken = Schema.decodeUnknownEffect(
  Schema.Union([Schema.Struct({ applicationToken: Token }), Schema.Struct({ accessToken: Token })])
)

type Step = "login" | "refresh" | "application-token"

const paths: Record<Step, string> = {
  login: "/api/users/login",
  refresh: "/api/users/refresh",
  "application-token": "/api/users/application-token"
}

/**
 * Statuses of a refused refresh token: 401 (expired, revoked), 403, and 422,
 * which flask-jwt-extended (whose claims ItemPath's JWTs carry) answers to a
 * token it cannot read, such as one signed by another installation. A login
 * may still work after any of them.
 */
const refusedSession = new Set([401, 403, 422])

const bearer = (token: Redacted.Redacted<string>) => ({ authorization: `Bearer ${Redacted.value(token)}` })

const make = (config: ResolvedItemPathConfig): Minter => {
  const base = config.baseUrl.replace(/\/+$/, "")

  const fail = upstreamFailure(config.id)

  /** One POST to ItemPath: the JSON body of a 2xx answer, or the failure the status means. */
  const post = (step: Step, init: RequestInit) => {
    const url = base + paths[step]
    const endpoint = { name: `ItemPath ${step}`, fail }
    const refusal = (response: Response) =>
      // The body of a refusal is not needed, and may echo what was sent.
      Effect.promise(() => response.body?.cancel().catch(() => undefined) ?? Promise.resolve()).pipe(
        Effect.andThen(Effect.fail(fail(`${endpoint.name} answered ${response.status}`, kindOfStatus(response.status), response)))
      )
    return exchange(
      {
        ...endpoint,
        url,
        init: { ...init, method: "POST" },
        address: `${endpoint.name} at ${url}`,
        timeoutMillis: config.timeoutMillis,
        // ItemPath does not rotate refresh tokens: a call whose answer was lost may be made again.
        afterSending: "transient"
      },
      (response) => response.ok ? readJson(endpoint, response) : refusal(response)
    )
  }

  const unusable = (step: Step, expected: string) => () =>
    fail(`ItemPath ${step} answered 200 without a usable ${expected}`, "refused")

  const login = Effect.gen(function*() {
    // Taken before the call, so the stored expiry errs on the early side.
    const startedAt = yield* Clock.currentTimeMillis
    const body = JSON.stringify({ username: config.username, password: Redacted.value(config.password) })
    const json = yield* post("login", { headers: { "content-type": "application/json", accept: "application/json" }, body })
    const reply = yield* decodeLogin(json).pipe(Effect.mapError(unusable("login", "accessToken and refreshToken")))
    const session: Session = {
      refreshToken: reply.refreshToken,
      refreshTokenExpiresAt: startedAt + config.refreshTokenLifetimeSeconds * 1000,
      username: config.username,
      baseUrl: base
    }
    return { accessToken: reply.accessToken, session }
  })

  const minted = (accessToken: Redacted.Redacted<string>, session: Session): MintedToken => ({
    accessToken,
    tokenType: "Bearer",
    expiresInSeconds: config.accessTokenLifetimeSeconds,
    carry: Redacted.make(encodeSession(session))
  })

  const loginAndMint = login.pipe(Effect.map(({ accessToken, session }) => minted(accessToken, session)))

  const refresh = (session: Session) =>
    post("refresh", { headers: { ...bearer(session.refreshToken), accept: "application/json" } }).pipe(
      Effect.flatMap((json) => decodeRefresh(json).pipe(Effect.mapError(unusable("refresh", "accessToken")))),
      Effect.map((reply) => minted(reply.accessToken, session))
    )

  const refreshOrLogin = (session: Session) =>
    refresh(session).pipe(
      Effect.catchIf(
        (error) => error.status !== undefined && refusedSession.has(error.status),
        (error) =>
          Effect.logInfo(`ItemPath refused the stored refresh token (${error.status}); logging in again`).pipe(
            Effect.andThen(loginAndMint)
          )
      )
    )

  /** The carried session, if there is one worth a refresh call. */
  const usableSession = Effect.fnUntraced(function*(carry: Redacted.Redacted<string> | undefined) {
    if (carry === undefined) return undefined
    const session = decodeSession(Redacted.value(carry))
    if (Option.isNone(session)) {
      yield* Effect.logWarning("the stored ItemPath session is unreadable; logging in again")
      return undefined
    }
    if (session.value.username !== config.username || session.value.baseUrl !== base) return undefined
    const now = yield* Clock.currentTimeMillis
    const renewAt = session.value.refreshTokenExpiresAt - config.refreshMarginSeconds * 1000
    return now < renewAt ? session.value : undefined
  })

  const mintAccessToken = Effect.fnUntraced(function*({ carry }: MintInput) {
    const session = yield* usableSession(carry)
    return yield* session === undefined ? loginAndMint : refreshOrLogin(session)
  })

  const mintApplicationToken = Effect.gen(function*() {
    const { session } = yield* login
    const json = yield* post("application-token", { headers: { ...bearer(session.refreshToken), accept: "application/json" } })
    const reply = yield* decodeApplicationToken(json).pipe(Effect.mapError(unusable("application-token", "token")))
    return {
      accessToken: "applicationToken" in reply ? reply.applicationToken : reply.accessToken,
      tokenType: "Bearer",
      expiresInSeconds: undefined
    } satisfies MintedToken
  })

  const span = Effect.withSpan("ItemPath.mint", { attributes: { provider: config.id } })
  return {
    mint: (input) => (config.applicationToken ? mintApplicationToken : mintAccessToken(input)).pipe(span)
  }
}

/** Reads the password the config refers to; `field` names the provider in errors (`providers[0]`). */
const resolve = <C extends ItemPathConfig>(config: C, field: string) =>
  resolveSecret(`${field}.password`, config.password).pipe(
    Effect.map((password): Omit<C, "password"> & ResolvedItemPathConfig => ({ ...config, password }))
  )

export const ItemPath = { make, resolve }
