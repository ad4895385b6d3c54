/**
 * ItemPath's three authentication calls, as its documentation describes
 * them: `POST /api/users/login` with JSON `{username, password}` answers
 * `{"login": true, "accessToken", "refreshToken"}`; `/api/users/refresh` and
 * `POST /api/users/application-token`, with the refresh token as bearer,
 * answer a new access token (in a field the docs do not name: `accessToken`
 * is expected) and `{"token"}`. Each call returns what the minter needs of its
 * answer, or the failure the answer means.
 *
 * A 2xx answer that brings nothing usable (the fields missing or empty, not
 * JSON, too large) means the upstream is not the ItemPath this code was
 * written for, and asking again gets the same answer; what decides its kind
 * is what each call costs. A login leaves a refresh token that lives 30 days
 * and can create application tokens, and an application token never expires:
 * those answers are `unusable`, which stops all calls until an operator acts,
 * so no such credential is left behind on every retry, new leader and get. A
 * refresh only leaves a 15-minute access token: its unusable answer is
 * `refused`, and the next mint may try again. An application-token answer cut
 * off (or stalled past the timeout) after its status is `unusable` too, since
 * the token was issued and lost; a login's is the lost answer it is after a
 * timeout, `transient`.
 */
import { Effect, Option, Redacted, Schema } from "effect"
import { HttpBody, type HttpClient, HttpClientRequest, type HttpClientResponse } from "effect/http"
import { type BodyReader, discardBody, isSuccess } from "../../../upstream/BoundedBody.ts"
import { exchange, readJson, type UpstreamCall } from "../../../upstream/UpstreamCall.ts"
import {
  kindOfStatus,
  type UpstreamError,
  type UpstreamErrorKind,
  type UpstreamFailure,
  upstreamFailure
} from "../../../upstream/UpstreamError.ts"

/** The part of a provider's config the calls need; `baseUrl` without a trailing slash. */
export interface ItemPathAccount {
  readonly id: string
  readonly baseUrl: string
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly timeoutMillis: number
}

export interface LoginReply {
  readonly accessToken: Redacted.Redacted<string>
  readonly refreshToken: Redacted.Redacted<string>
}

export interface UserEndpoints {
  readonly login: Effect.Effect<LoginReply, UpstreamError, HttpClient.HttpClient>
  /** A new access token for `refreshToken`. */
  readonly refresh: (
    refreshToken: Redacted.Redacted<string>
  ) => Effect.Effect<Redacted.Redacted<string>, UpstreamError, HttpClient.HttpClient>
  /** A new application token, which never expires, for `refreshToken`. */
  readonly applicationToken: (
    refreshToken: Redacted.Redacted<string>
  ) => Effect.Effect<Redacted.Redacted<string>, UpstreamError, HttpClient.HttpClient>
}

type Step = "login" | "refresh" | "application-token"

interface StepRules {
  readonly path: string
  /** Names the fields a usable answer has, for the message of one that has not. */
  readonly expected: string
  /** What a 2xx answer without them is; see the module doc. */
  readonly unusable: UpstreamErrorKind
  /** What a 2xx answer whose body broke off is. */
  readonly cutOff: UpstreamErrorKind
}

const steps: Record<Step, StepRules> = {
  login: {
    path: "/api/users/login",
    expected: "accessToken and refreshToken",
    unusable: "unusable",
    cutOff: "transient"
  },
  refresh: { path: "/api/users/refresh", expected: "accessToken", unusable: "refused", cutOff: "transient" },
  "application-token": {
    path: "/api/users/application-token",
    expected: "token",
    unusable: "unusable",
    cutOff: "unusable"
  }
}

/** Said after an `unusable` answer: what it may have cost, and what to do. */
const costs: Partial<Record<Step, string>> = {
  login: "ItemPath may have issued a refresh token that nobody holds; check the baseUrl and ItemPath's version",
  "application-token": "ItemPath may have issued an application token, which never expires, that nobody holds; " +
    "revoke it in ItemPath, and check the baseUrl and ItemPath's version"
}

const Token = Schema.RedactedFromValue(Schema.NonEmptyString)

// `login`, when present, must be true: ItemPath's `login: false` is a refusal, whatever else comes with it.
const decodeLogin = Schema.decodeUnknownOption(
  Schema.Struct({ login: Schema.optionalKey(Schema.Literal(true)), accessToken: Token, refreshToken: Token })
)
const decodeRefusedLogin = Schema.decodeUnknownOption(Schema.Struct({ login: Schema.Literal(false) }))
/** A token under either name ItemPath's answers use: `accessToken` (login) or `token` (application-token). */
const EitherName = Schema.Union([Schema.Struct({ accessToken: Token }), Schema.Struct({ token: Token })])
const decodeEitherName = Schema.decodeUnknownOption(EitherName)
const tokenOf = (reply: typeof EitherName.Type) => "token" in reply ? reply.token : reply.accessToken

type HttpResponse = HttpClientResponse.HttpClientResponse

const bearer = (token: Redacted.Redacted<string>) => ({ authorization: `Bearer ${Redacted.value(token)}` })

/** A 2xx answer of `step` that brought nothing usable (`why`): `kind`, with what it may have cost. */
const unusable = (fail: UpstreamFailure, step: Step, why: string, kind: UpstreamErrorKind, response: HttpResponse) =>
  fail(kind === "unusable" && costs[step] !== undefined ? `${why}. ${costs[step]}` : why, kind, response)

/** A decoded 2xx answer of `step` without its tokens; ItemPath's own `login: false` refuses the credentials. */
const without = (fail: UpstreamFailure, step: Step, json: unknown, response: HttpResponse) => {
  if (step === "login" && Option.isSome(decodeRefusedLogin(json))) {
    return fail(`ItemPath login answered ${response.status} with login: false`, "credentials-rejected", response)
  }
  const why = `ItemPath ${step} answered ${response.status} without a usable ${steps[step].expected}`
  return unusable(fail, step, why, steps[step].unusable, response)
}

/** A 2xx answer, decoded. Reading its body fails `refused` (too large, not JSON) or, cut off, `afterSending`. */
const success = <A>(call: UpstreamCall, step: Step, decode: (json: unknown) => Option.Option<A>) =>
(response: HttpResponse) => {
  const rules = steps[step]
  const reader: BodyReader = {
    name: call.name,
    afterSending: call.afterSending,
    fail: (message, read) =>
      unusable(call.fail, step, message, read === "refused" ? rules.unusable : rules.cutOff, response)
  }
  return readJson(reader, response).pipe(
    Effect.flatMap((json) =>
      Option.match(decode(json), {
        onSome: Effect.succeed,
        onNone: () => Effect.fail(without(call.fail, step, json, response))
      })
    )
  )
}

/** The body of a refusal is not read: it is not needed, and may echo what was sent. */
const refusal = (call: UpstreamCall) => (response: HttpResponse) =>
  discardBody(response).pipe(
    Effect.andThen(
      Effect.fail(call.fail(`${call.name} answered ${response.status}`, kindOfStatus(response.status), response))
    )
  )

/**
 * One POST of `step`: its 2xx answer decoded by `decode`, or the failure the
 * answer means. Built when run, so the password or token in it lives no
 * longer than the call.
 */
const post = <A>(
  account: ItemPathAccount,
  step: Step,
  headers: Record<string, string>,
  decode: (json: unknown) => Option.Option<A>,
  body?: HttpBody.HttpBody
) =>
  Effect.suspend(() => {
    const url = account.baseUrl + steps[step].path
    const call: UpstreamCall = {
      name: `ItemPath ${step}`,
      fail: upstreamFailure(account.id),
      request: HttpClientRequest.post(url, { headers, body, acceptJson: true }),
      address: `ItemPath ${step} at ${url}`,
      timeoutMillis: account.timeoutMillis,
      // ItemPath does not rotate refresh tokens: a call whose answer was lost may be made again.
      afterSending: "transient"
    }
    const answer = success(call, step, decode)
    // The timeout covers the body too: one that runs out after a 2xx status is that answer cut off.
    let answered: HttpResponse | undefined
    const stalled = (error: UpstreamError) => {
      if (answered === undefined || error.status !== undefined) return error
      const why = `${call.name} answered ${answered.status} but its body did not arrive within ${call.timeoutMillis} ms`
      return unusable(call.fail, step, why, steps[step].cutOff, answered)
    }
    return exchange(call, (response) => {
      if (!isSuccess(response)) return refusal(call)(response)
      answered = response
      return answer(response)
    }).pipe(Effect.mapError(stalled))
  })

export const userEndpoints = (account: ItemPathAccount): UserEndpoints => ({
  login: Effect.suspend(() => {
    const credentials = JSON.stringify({ username: account.username, password: Redacted.value(account.password) })
    return post(account, "login", {}, decodeLogin, HttpBody.text(credentials, "application/json"))
  }),
  // The application token comes as `token`, as ItemPath documents; it does not name the field of a refreshed
  // access token, so `accessToken`, as in the login's answer, is expected. Either name is read for both.
  refresh: (refreshToken) =>
    post(account, "refresh", bearer(refreshToken), decodeEitherName).pipe(Effect.map(tokenOf)),
  applicationToken: (refreshToken) =>
    post(account, "application-token", bearer(refreshToken), decodeEitherName).pipe(Effect.map(tokenOf))
})
