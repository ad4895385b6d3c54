// The single-flight rule: while a mint is under way nothing starts another,
// and a 401 storm about one version costs exactly one upstream call.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { decideMint, type MintDecision, type MintRequest, type MintState } from "../src/MintDecision.ts"

const ensure: MintRequest = { _tag: "Ensure" }
const unauthorized = (version: number): MintRequest => ({ _tag: "Unauthorized", version })
const operator: MintRequest = { _tag: "Operator" }

describe("decideMint", () => {
  // Every combination: no token / token at 5, idle / minting, and each kind
  // of request relative to the held version.
  const table: ReadonlyArray<readonly [MintState, MintRequest, MintDecision]> = [
    [{ current: undefined, inFlight: false }, ensure, "mint"],
    [{ current: undefined, inFlight: false }, unauthorized(1), "mint"],
    [{ current: undefined, inFlight: false }, unauthorized(5), "mint"],
    [{ current: undefined, inFlight: true }, ensure, "join-in-flight"],
    [{ current: undefined, inFlight: true }, unauthorized(1), "join-in-flight"],
    [{ current: 5, inFlight: false }, ensure, "serve-current"],
    [{ current: 5, inFlight: false }, unauthorized(4), "serve-current"],
    [{ current: 5, inFlight: false }, unauthorized(1), "serve-current"],
    [{ current: 5, inFlight: false }, unauthorized(5), "mint"],
    // A report about a version newer than the leader's: the leader's view is
    // stale or the report bogus; it reads KV again rather than minting.
    [{ current: 5, inFlight: false }, unauthorized(6), "reload"],
    [{ current: 5, inFlight: false }, unauthorized(1000), "reload"],
    [{ current: 5, inFlight: true }, ensure, "join-in-flight"],
    [{ current: 5, inFlight: true }, unauthorized(4), "join-in-flight"],
    [{ current: 5, inFlight: true }, unauthorized(5), "join-in-flight"],
    [{ current: 5, inFlight: true }, unauthorized(6), "join-in-flight"],
    // A scheduled renewal follows the same rules as a 401 about that version.
    [{ current: 5, inFlight: false }, { _tag: "Proactive", version: 5 }, "mint"],
    [{ current: 6, inFlight: false }, { _tag: "Proactive", version: 5 }, "serve-current"],
    [{ current: 5, inFlight: true }, { _tag: "Proactive", version: 5 }, "join-in-flight"],
    // An operator forces a mint, but still joins one under way.
    [{ current: undefined, inFlight: false }, operator, "mint"],
    [{ current: 5, inFlight: false }, operator, "mint"],
    [{ current: 5, inFlight: true }, operator, "join-in-flight"]
  ]

  for (const [state, request, expected] of table) {
    const label = "version" in request ? `${request._tag}(${request.version})` : request._tag
    it(`current ${state.current ?? "none"}, ${state.inFlight ? "minting" : "idle"}, ${label} -> ${expected}`, () => {
      assert.strictEqual(decideMint(state, request), expected)
    })
  }

  const request: fc.Arbitrary<MintRequest> = fc.oneof(
    fc.constant(ensure),
    fc.integer({ min: 1, max: 100 }).map(unauthorized)
  )
  const current = fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined })

  it("never mints while a mint is in flight, whatever requests arrive", () => {
    fc.assert(fc.property(current, fc.array(request, { maxLength: 50 }), (held, requests) => {
      for (const r of requests) assert.strictEqual(decideMint({ current: held, inFlight: true }, r), "join-in-flight")
    }))
  })

  it("an idle leader holding a token mints only for a 401 on exactly that token", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), request, (held, r) => {
      const decision = decideMint({ current: held, inFlight: false }, r)
      if (r._tag === "Ensure") assert.strictEqual(decision, "serve-current")
      else if (r._tag === "Unauthorized") assert.strictEqual(decision, r.version < held ? "serve-current" : r.version === held ? "mint" : "reload")
    }))
  })

  it("one storm of 401s about one version costs one mint, wherever the mint completes in it", () => {
    // A leader following the decisions: "mint" starts a flight; the flight
    // completes at some point in the storm with the next version.
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 100 }),
      fc.integer({ min: 1, max: 40 }),
      fc.nat(),
      (held, stormSize, completeAfterRaw) => {
        const completeAfter = completeAfterRaw % (stormSize + 1)
        let state: MintState = { current: held, inFlight: false }
        let mints = 0
        for (let i = 0; i < stormSize; i++) {
          if (i === completeAfter && state.inFlight) state = { current: held + 1, inFlight: false }
          const decision = decideMint(state, unauthorized(held))
          if (decision === "mint") {
            mints++
            state = { ...state, inFlight: true }
          }
        }
        assert.strictEqual(mints, 1)
      }
    ))
  })

  it("never has two mints in flight, for any interleaving of requests and completions", () => {
    type Step = { readonly _tag: "Request"; readonly request: MintRequest } | { readonly _tag: "Complete" }
    const step: fc.Arbitrary<Step> = fc.oneof(
      request.map((r): Step => ({ _tag: "Request", request: r })),
      fc.constant<Step>({ _tag: "Complete" })
    )
    fc.assert(fc.property(current, fc.array(step, { maxLength: 80 }), (initial, steps) => {
      let state: MintState = { current: initial, inFlight: false }
      let inFlight = 0
      let nextVersion = (initial ?? 0) + 1
      for (const s of steps) {
        if (s._tag === "Complete") {
          if (state.inFlight) {
            inFlight--
            state = { current: nextVersion++, inFlight: false }
          }
          continue
        }
        const decision = decideMint(state, s.request)
        if (decision === "mint") {
          inFlight++
          state = { ...state, inFlight: true }
        }
        if (decision === "serve-current") assert.isDefined(state.current)
        assert.isAtMost(inFlight, 1)
      }
    }))
  })
})
