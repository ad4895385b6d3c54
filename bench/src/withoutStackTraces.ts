/**
 * Runs the bench's own requesters without stack traces. nats.js 3.4 builds
 * an Error (`new RequestError("cancelled")`, request.js `RequestOne.cancel`)
 * for every request that completes, whatever `noAsyncTraces` says; capturing
 * its stack took 36 % of the load generator's time in a profile of scenario
 * 1, enough to make the load generator the bottleneck instead of what it
 * measures. With `Error.stackTraceLimit = 0` the Error costs next to nothing.
 * Only the bench process is changed, and only while it generates load:
 * replicas and echo responders run as they always do.
 */
export const withoutStackTraces = async <A>(work: () => Promise<A>): Promise<A> => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return await work()
  } finally {
    Error.stackTraceLimit = limit
  }
}
