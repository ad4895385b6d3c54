/**
 * What the simulator tests share: sims started for one test and closed after
 * it, pass or fail, so no server outlives its test; and the requests they make
 * to token endpoints and bearer-guarded paths.
 */
import { afterEach } from "vitest"

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`

/**
 * `start` merges `defaults` with a test's options; every sim it starts is
 * closed after the test. A test that starts a sim by other means (options
 * `start` cannot express) pushes it to `started` to have it closed too.
 */
export const simsClosedAfterEach = <Options, Sim extends { close(): Promise<void> }>(
  startSim: (options: Options) => Promise<Sim>,
  // NoInfer: the sim's own options type, not the shape of the defaults, is what tests may pass.
  defaults: NoInfer<Options>
) => {
  const started: Array<Sim> = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((sim) => sim.close()))
  })
  const start = async (options: Partial<Options> = {}): Promise<Sim> => {
    const sim = await startSim({ ...defaults, ...options })
    started.push(sim)
    return sim
  }
  return { start, started }
}

export interface FormPost {
  readonly form: Record<string, string>
  readonly authorization?: string
  readonly signal?: AbortSignal
}

/** A form POST, as OAuth2 token requests are made. */
export const postForm = (url: string, request: FormPost): Promise<Response> =>
  fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      ...(request.authorization === undefined ? {} : { Authorization: request.authorization })
    },
    body: new URLSearchParams(request.form),
    ...(request.signal === undefined ? {} : { signal: request.signal })
  })

/** A request with `token` as bearer, or with no Authorization header when it is undefined. */
export const fetchWithBearer = (url: string, token: string | undefined, method: string): Promise<Response> =>
  fetch(url, { method, headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } })

/** Only the status, with the body drained so the connection is free again. */
export const statusWithBearer = async (url: string, token: string, method: string): Promise<number> => {
  const response = await fetchWithBearer(url, token, method)
  await response.arrayBuffer()
  return response.status
}
