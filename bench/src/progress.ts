/**
 * Progress lines on stderr, so that stdout carries only the results table.
 */
export const progress = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`)
}
