// The nemesis's plan and pacing: one seed always draws the same schedule
// (what makes a printed seed a replay), different seeds draw different ones,
// a single server gets no NATS faults, the upstream lane keeps each
// provider's faults apart; and the pacing holds mint-causing faults back
// until they fit both the spacing and the mints per window. The scale run's
// plan replays by seed too and keeps the replica count within its bounds.
import { describe, expect, it } from "vitest"
import { makeMintPacing } from "./MintPacing.ts"
import { planScaleSteps } from "./ScaleSchedule.ts"
import { planSchedule } from "./Schedule.ts"
import { seededRandom } from "./SeededRandom.ts"

const options = { faultMillis: 300_000, natsNodes: 3, spacingMillis: 15_000 }

describe("chaos schedule", () => {
  it("is the same for the same seed and differs between seeds", () => {
    expect(planSchedule(seededRandom(42), options)).toEqual(planSchedule(seededRandom(42), options))
    expect(planSchedule(seededRandom(42), options)).not.toEqual(planSchedule(seededRandom(43), options))
  })

  it("plans no NATS fault without NATS nodes, and faults of every other kind", () => {
    const kinds = new Set(planSchedule(seededRandom(7), { ...options, natsNodes: 0 }).system.map((p) => p.fault.kind))
    expect([...kinds].sort()).toEqual(["bucket", "kill-leader", "pause-leader", "scale"])
  })

  it("keeps each provider's upstream faults at least the spacing apart, within the fault period", () => {
    const { upstream } = planSchedule(seededRandom(11), options)
    expect(upstream.length).toBeGreaterThan(10)
    const last = new Map<string, number>()
    for (const { atMillis, fault } of upstream) {
      expect(atMillis).toBeLessThan(options.faultMillis)
      expect(atMillis - (last.get(fault.provider) ?? -Infinity)).toBeGreaterThanOrEqual(options.spacingMillis)
      last.set(fault.provider, atMillis)
    }
  })
})

describe("mint pacing", () => {
  it("waits for the spacing and for the window to make room, per provider", async () => {
    const pacing = makeMintPacing({ spacingMillis: 100, mints: 3, windowMillis: 600 })
    const deadline = Date.now() + 5000
    const begin = Date.now()
    const at = async (providers: Array<string>, mints: number) => {
      expect(await pacing.reserve(providers, mints, deadline)).toBe(true)
      return Date.now() - begin
    }
    expect(await at(["a"], 2)).toBeLessThan(50)
    // Spacing only: 2 + 1 fit the window.
    expect(await at(["a"], 1)).toBeGreaterThanOrEqual(95)
    // Another provider is not held back by "a".
    expect(await at(["b"], 1)).toBeLessThan(150)
    // "a" is full until its first reservation leaves the window (600 ms after it).
    expect(await at(["a", "b"], 2)).toBeGreaterThanOrEqual(595)
  })

  it("refuses, taking nothing, when the moment would come after the deadline", async () => {
    const pacing = makeMintPacing({ spacingMillis: 10_000, mints: 4, windowMillis: 60_000 })
    expect(await pacing.reserve(["a"], 1, Date.now() + 1000)).toBe(true)
    expect(await pacing.reserve(["a"], 1, Date.now() + 1000)).toBe(false)
    expect(await pacing.reserve(["b"], 1, Date.now() + 1000)).toBe(true)
  })
})

describe("scale schedule", () => {
  const scale = { startReplicas: 3, minReplicas: 2, maxReplicas: 5, steps: 12, gapMillis: [2500, 5000] as const }

  it("is the same for the same seed, keeps the replica count in bounds and uses every kind of step", () => {
    expect(planScaleSteps(seededRandom(42), scale)).toEqual(planScaleSteps(seededRandom(42), scale))
    const kinds = new Set<string>()
    for (let seed = 1; seed <= 50; seed++) {
      let replicas = scale.startReplicas
      for (const { step } of planScaleSteps(seededRandom(seed), scale)) {
        kinds.add(step.kind)
        replicas += step.kind === "scale-up" ? step.count : -1
        expect(replicas).toBeGreaterThanOrEqual(scale.minReplicas)
        expect(replicas).toBeLessThanOrEqual(scale.maxReplicas)
      }
    }
    expect([...kinds].sort()).toEqual(["kill-leader", "scale-down", "scale-up"])
  })
})
