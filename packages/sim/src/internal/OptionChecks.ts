/**
 * What the simulators' option resolution has in common: the defaults of the
 * options they all take (where to listen, how fast time runs, how slowly to
 * answer), the checks on them, and upstream seconds turned into real
 * milliseconds. A failed check throws a RangeError naming the sim: invalid
 * options are programming mistakes, best reported at the line that starts it.
 */

export interface SharedSimOptions {
  readonly port?: number
  readonly timeScale?: number
  readonly latencyMs?: number
}

/** A random free port, real time, no delay. */
export const withSharedDefaults = (options: SharedSimOptions) => ({
  port: options.port ?? 0,
  timeScale: options.timeScale ?? 1,
  latencyMs: options.latencyMs ?? 0
})

export interface OptionChecks {
  readonly that: (condition: boolean, message: string) => void
  readonly nonEmpty: (name: string, value: string) => void
  readonly port: (port: number) => void
  readonly positive: (name: string, value: number) => void
  readonly latency: (latencyMs: number) => void
}

export const optionChecks = (simName: string): OptionChecks => {
  const that = (condition: boolean, message: string): void => {
    if (!condition) throw new RangeError(`${simName}: ${message}`)
  }
  return {
    that,
    nonEmpty: (name, value) => that(value.length > 0, `${name} must not be empty`),
    port: (port) => that(Number.isInteger(port) && port >= 0 && port <= 65_535, "port must be an integer in 0..65535"),
    positive: (name, value) => that(Number.isFinite(value) && value > 0, `${name} must be a positive number`),
    latency: (latencyMs) => that(Number.isFinite(latencyMs) && latencyMs >= 0, "latencyMs must be a number >= 0")
  }
}

/** How long `upstreamSeconds` really last when the sim runs `timeScale` times fast. */
export const realMs = (upstreamSeconds: number, timeScale: number): number => (upstreamSeconds * 1000) / timeScale
