/**
 * The scale run's plan, drawn from its seed: replicas added (one or two at
 * once), stopped politely (SIGTERM: the member key is released, its
 * providers move at once) and leaders SIGKILLed (their member key lapses),
 * the replica count kept between a floor and a ceiling, so every step moves
 * about 1/n of the providers between members. Steps are "not before"
 * offsets, each waiting for the one before it.
 */
import type { SeededRandom } from "./SeededRandom.ts"

export type ScaleStep =
  | { readonly kind: "scale-up"; readonly count: number }
  | { readonly kind: "scale-down" }
  /** SIGKILL of the replica leading the `pick`-th provider (modulo their number), not replaced. */
  | { readonly kind: "kill-leader"; readonly pick: number }

export interface PlannedStep {
  readonly atMillis: number
  readonly step: ScaleStep
}

export interface ScalePlanOptions {
  readonly startReplicas: number
  readonly minReplicas: number
  readonly maxReplicas: number
  readonly steps: number
  /** The wait between two steps, drawn in this range. */
  readonly gapMillis: readonly [number, number]
}

export const planScaleSteps = (random: SeededRandom, options: ScalePlanOptions): Array<PlannedStep> => {
  const plan: Array<PlannedStep> = []
  let replicas = options.startReplicas
  let at = options.gapMillis[0]
  for (let index = 0; index < options.steps; index++) {
    const kinds: Array<ScaleStep["kind"]> = []
    if (replicas < options.maxReplicas) kinds.push("scale-up", "scale-up")
    if (replicas > options.minReplicas) kinds.push("scale-down", "kill-leader", "kill-leader")
    const kind = random.pick(kinds)
    const step: ScaleStep = kind === "scale-up"
      ? { kind, count: Math.min(options.maxReplicas - replicas, random.int(1, 2)) }
      : kind === "scale-down"
      ? { kind }
      : { kind, pick: random.int(0, 1_000_000) }
    replicas += step.kind === "scale-up" ? step.count : -1
    plan.push({ atMillis: at, step })
    at += random.int(options.gapMillis[0], options.gapMillis[1])
  }
  return plan
}

export const describeScaleSteps = (plan: ReadonlyArray<PlannedStep>): Array<string> =>
  plan.map(({ atMillis, step }) => `scale    +${(atMillis / 1000).toFixed(1)}s ${JSON.stringify(step)}`)
