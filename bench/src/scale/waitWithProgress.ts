/**
 * Polling for a condition of the scale scenario with a deadline, saying how
 * far it got on stderr every couple of seconds: at 10,000 providers a wait
 * can take tens of seconds, and a bench that goes silent that long looks hung.
 */
import { sleep } from "@tokenbus/testing"
import { progress } from "../progress.ts"

export interface ProgressWait {
  /** What is awaited, for the progress lines and the timeout's message. */
  readonly what: string
  readonly done: () => boolean
  /** How far it got, e.g. "4123/10000". */
  readonly status: () => string
  readonly timeoutMillis: number
  readonly pollMillis?: number
  readonly reportEveryMillis?: number
}

export const waitWithProgress = async (wait: ProgressWait): Promise<void> => {
  const started = Date.now()
  let reported = started
  while (!wait.done()) {
    const now = Date.now()
    if (now - started > wait.timeoutMillis) {
      throw new Error(`timed out after ${wait.timeoutMillis} ms waiting for ${wait.what} (${wait.status()})`)
    }
    if (now - reported >= (wait.reportEveryMillis ?? 2000)) {
      progress(`  waiting for ${wait.what}: ${wait.status()} after ${((now - started) / 1000).toFixed(1)} s`)
      reported = now
    }
    await sleep(wait.pollMillis ?? 100)
  }
}
