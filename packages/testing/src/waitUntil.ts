/**
 * Waiting on a condition instead of sleeping a guessed time: tests and the
 * benchmark poll what they can observe (a log line, a reply) with a deadline,
 * so they are as fast as the system and fail with a message when it is not.
 */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `condition` every `intervalMs` until it holds; throws `message` after `timeoutMs`. */
export const waitUntil = async (
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message: string,
  intervalMs = 25
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${message}`)
    await sleep(intervalMs)
  }
}
