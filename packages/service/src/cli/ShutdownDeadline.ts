/**
 * The bound on a shutdown as a whole. SIGTERM and SIGINT interrupt the
 * program, which winds down (leader locks released, NATS drained) and exits
 * 0; each wait of that wind-down is bounded on its own. This is the backstop
 * for a wait nobody foresaw, outside Effect so that nothing inside can hold
 * it up: once `graceMillis` have passed since the first signal, or on a
 * second one, the process says so on stderr and exits 1 at once, well before
 * Kubernetes' SIGKILL (30 s by default) would end it without a word.
 */

export const graceMillis = 10_000

const quit = (why: string): never => {
  process.stderr.write(`tokenbus: ${why}; exiting without finishing the shutdown\n`)
  return process.exit(1)
}

/** Installs the deadline beside the runtime's own signal handlers, which start the wind-down. */
export const armShutdownDeadline = (): void => {
  let signalled = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) quit(`${signal} again`)
    signalled = true
    // Unref'd: a shutdown that finishes in time exits without waiting for the timer.
    setTimeout(() => quit(`the shutdown did not finish within ${graceMillis} ms of ${signal}`), graceMillis).unref()
  }
  process.on("SIGTERM", onSignal)
  process.on("SIGINT", onSignal)
}
