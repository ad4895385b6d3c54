/**
 * Where a kit says what it is doing: by default one `[tokenbus-testkit]` line
 * per step on stderr, which vitest and `node --test` both show beside the
 * test that started the kit, so a slow or failing start is explained where it
 * happens. Never a secret or a token, only steps, addresses and timings.
 */

export type ProgressLog = (line: string) => void

const toStderr: ProgressLog = (line) => void process.stderr.write(`[tokenbus-testkit] ${line}\n`)

/** `false` silences the kit; a function receives each line instead of stderr. */
export const progressLog = (option: ProgressLog | false | undefined): ProgressLog =>
  option === false ? () => undefined : (option ?? toStderr)

/** Milliseconds since `started` (a `performance.now()`), as "1.2 s". */
export const elapsed = (started: number): string => `${((performance.now() - started) / 1000).toFixed(1)} s`
