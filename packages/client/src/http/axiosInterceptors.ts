/**
 * axios interceptors that send a provider's bearer token with every request
 * of an axios instance. The request interceptor attaches the current token
 * and remembers it on the request's config (`config.tokenbus.token`); on a
 * 401 the response interceptor reports that token and, when the report
 * returns a newer one and the request is safe to repeat (`RetryPolicy.ts`),
 * sends the request once more through the same instance, marked
 * `config.tokenbus.retried` so that its own 401 is handed back, never
 * retried. With no newer token yet, or a request not safe to repeat, the 401
 * is handed back as axios gives it (rejected, with the default
 * `validateStatus`).
 *
 * Only types come from axios: the instance is the caller's.
 */
import { isNewer, type Token } from "@tokenbus/core"
import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from "axios"
import { Redacted } from "effect"
import { idempotencyKeyHeader, isResendable, mayRepeat, type RetryPolicy } from "./RetryPolicy.ts"
import type { TokenSource } from "./TokenSource.ts"

export type { RetryPolicy } from "./RetryPolicy.ts"
export type { TokenSource } from "./TokenSource.ts"

/** `config.tokenbus`: a request's own `retryNonIdempotent`, and what the interceptors note on it. */
export interface AxiosTokenbusConfig extends RetryPolicy {
  /** Set by the request interceptor: the token the request was sent with. */
  readonly token?: Token
  /** Set on the one retry after a 401. */
  readonly retried?: boolean
}

declare module "axios" {
  interface AxiosRequestConfig<D = any, P = any> {
    /** tokenbus's interceptors: `{ retryNonIdempotent: true }` lets this request be retried after a 401. */
    tokenbus?: AxiosTokenbusConfig
  }
}

/**
 * Installs the interceptors on `instance` for `provider`'s token; `policy`
 * applies to every request, `config.tokenbus` to one. Returns a function
 * that removes them.
 */
export const axiosInterceptors = (
  instance: AxiosInstance,
  tokens: TokenSource,
  provider: string,
  policy: RetryPolicy = {}
): () => void => {
  const request = instance.interceptors.request.use(async (config) => {
    const state = config.tokenbus ?? {}
    const token = state.retried === true && state.token !== undefined ? state.token : await tokens.getToken(provider)
    config.headers.set("Authorization", `Bearer ${Redacted.value(token.accessToken)}`)
    config.tokenbus = { ...state, token }
    return config
  })
  const renew = async (
    config: InternalAxiosRequestConfig | undefined,
    refused: () => AxiosResponse | Promise<never>
  ): Promise<AxiosResponse> => {
    const token = config?.tokenbus?.token
    if (config === undefined || token === undefined || config.tokenbus?.retried === true) return refused()
    const fresh = await tokens.reportUnauthorized(token)
    if (!isNewer(fresh, token) || !repeatable(config, policy)) return refused()
    return instance.request({ ...config, tokenbus: { ...config.tokenbus, token: fresh, retried: true } })
  }
  const response = instance.interceptors.response.use(
    // A 401 that `validateStatus` let through is renewed the same way.
    (answer) => answer.status === 401 ? renew(answer.config, () => answer) : answer,
    (error: unknown) =>
      isUnauthorized(error) ? renew(error.config, () => Promise.reject(error)) : Promise.reject(error)
  )
  return () => {
    instance.interceptors.request.eject(request)
    instance.interceptors.response.eject(response)
  }
}

const isUnauthorized = (error: unknown): error is AxiosError =>
  typeof error === "object" && error !== null && (error as Partial<AxiosError>).isAxiosError === true &&
  (error as AxiosError).response?.status === 401

const repeatable = (config: InternalAxiosRequestConfig, policy: RetryPolicy): boolean =>
  mayRepeat(
    config.method ?? "get",
    config.headers.has(idempotencyKeyHeader),
    { ...policy, ...config.tokenbus }
  ) && isResendable(config.data)
