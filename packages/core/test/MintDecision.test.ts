// The single-flight rule of src/MintDecision.ts, checked on the real
// `decideMint`: first every (state, request) case with its decision written
// out from the rule the module documents, then properties over any state and
// request. The leader's side (setting `inFlight`, one question per storm) is
// the service's and is tested there.
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { decideMint, type MintDecision, type MintRequest, type MintState } from "../src/MintDecision.ts"

const ensure: MintRequest = { _tag: "Ensure" }
const operator: MintRequest = { _tag: "Operator" }
const unauthorized = (version: number): MintRequest => ({ _tag: "Unauthorized", version })
const proactive = (version: number): MintRequest => ({ _tag: "Proactive", version })

const label = (request: MintRequest) => "version" in request ? `${request._tag}(${request.version})` : request._tag

describe("decideMint, case by case", () => {
  const none: MintState = { current: undefined, inFlight: false }
  const noneMinting: MintState = { current: undefined, inFlight: true }
  const held: MintState = { current: 5, inFlight: false }
  const heldMinting: MintState = { current: 5, inFlight: true }

  // Written by hand from the module's comments: a mint under way answers
  // everything; holding nothing, or asked by an operator, the leader mints;
  // Ensure is served what is held; a report older than the held token is
  // served it, one about it mints, one newer than it reloads.
  const table: ReadonlyArray<readonly [MintState, MintRequest, MintDecision]> = [
    [none, ensure, "mint"],
    [none, unauthorized(4), "mint"],
    [none, unauthorized(5), "mint"],
    [none, unauthorized(6), "mint"],
    [none, proactive(4), "mint"],
    [none, proactive(5), "mint"],
    [none, proactive(6), "mint"],
    [none, operator, "mint"],

    [noneMinting, ensure, "join-in-flight"],
    [noneMinting, unauthorized(4), "join-in-flight"],
    [noneMinting, unauthorized(5), "join-in-flight"],
    [noneMinting, unauthorized(6), "join-in-flight"],
    [noneMinting, proactive(4), "join-in-flight"],
    [noneMinting, proactive(5), "join-in-flight"],
    [noneMinting, proactive(6), "join-in-flight"],
    [noneMinting, operator, "join-in-flight"],

    [held, ensure, "serve-current"],
    [held, unauthorized(1), "serve-current"],
    [held, unauthorized(4), "serve-current"],
    [held, unauthorized(5), "mint"],
    [held, unauthorized(6), "reload"],
    [held, unauthorized(1000), "reload"],
    [held, proactive(4), "serve-current"],
    [held, proactive(5), "mint"],
    [held, proactive(6), "reload"],
    [held, operator, "mint"],

    [heldMinting, ensure, "join-in-flight"],
    [heldMinting, unauthorized(4), "join-in-flight"],
    [heldMinting, unauthorized(5), "join-in-flight"],
    [heldMinting, unauthorized(6), "join-in-flight"],
    [heldMinting, proactive(4), "join-in-flight"],
    [heldMinting, proactive(5), "join-in-flight"],
    [heldMinting, proactive(6), "join-in-flight"],
    [heldMinting, operator, "join-in-flight"]
  ]

  for (const [state, request, expected] of table) {
    const name = `current ${state.current ?? "none"}, ${state.inFlight ? "minting" : "idle"}, ${label(request)}`
    it(`${name} -> ${expected}`, () => {
      assert.strictEqual(decideMint(state, request), expected)
    })
  }
})

const version = fc.integer({ min: 1, max: 1_000_000 })
const anyState: fc.Arbitrary<MintState> = fc.record({
  current: fc.option(version, { nil: undefined }),
  inFlight: fc.boolean()
})

/** A request, with reported versions often next to the held one, where the rule changes. */
const requestFor = (state: MintState): fc.Arbitrary<MintRequest> => {
  const near = fc.integer({ min: -3, max: 3 }).map((delta) => Math.max(1, (state.current ?? 1) + delta))
  const reported = fc.oneof(version, near)
  return fc.oneof(
    fc.constant(ensure),
    fc.constant(operator),
    reported.map(unauthorized),
    reported.map(proactive)
  )
}
const stateAndRequest = anyState.chain((state) => fc.tuple(fc.constant(state), requestFor(state)))
const heldAndReport = (relation: (reported: number, held: number) => boolean) =>
  fc.tuple(version, version, fc.constantFrom(unauthorized, proactive), fc.boolean()).filter(([held, reported]) =>
    relation(reported, held)
  )

describe("decideMint, for any state and request", () => {
  it("with a mint in flight, every request joins it", () => {
    fc.assert(fc.property(stateAndRequest, ([state, request]) => {
      assert.strictEqual(decideMint({ ...state, inFlight: true }, request), "join-in-flight")
    }))
  })

  it("an Operator request never serves the current token", () => {
    fc.assert(fc.property(anyState, (state) => {
      const decision = decideMint(state, operator)
      assert.notStrictEqual(decision, "serve-current")
      assert.strictEqual(decision, state.inFlight ? "join-in-flight" : "mint")
    }))
  })

  it("a report of a version older than the current one never mints: it is served the current token", () => {
    fc.assert(fc.property(heldAndReport((reported, held) => reported < held), ([held, reported, report, inFlight]) => {
      const decision = decideMint({ current: held, inFlight }, report(reported))
      assert.notStrictEqual(decision, "mint")
      if (!inFlight) assert.strictEqual(decision, "serve-current")
    }))
  })

  it("a report of a version newer than the current one never mints: it reloads", () => {
    fc.assert(fc.property(heldAndReport((reported, held) => reported > held), ([held, reported, report, inFlight]) => {
      const decision = decideMint({ current: held, inFlight }, report(reported))
      assert.notStrictEqual(decision, "mint")
      if (!inFlight) assert.strictEqual(decision, "reload")
    }))
  })

  it("a report of exactly the held version, with no mint in flight, mints", () => {
    fc.assert(fc.property(version, fc.constantFrom(unauthorized, proactive), (held, report) => {
      assert.strictEqual(decideMint({ current: held, inFlight: false }, report(held)), "mint")
    }))
  })

  it("Ensure never mints while a token is held", () => {
    fc.assert(fc.property(version, fc.boolean(), (held, inFlight) => {
      const decision = decideMint({ current: held, inFlight }, ensure)
      assert.notStrictEqual(decision, "mint")
      assert.strictEqual(decision, inFlight ? "join-in-flight" : "serve-current")
    }))
  })

  it("holding nothing, it never serves nor reloads: every request mints or joins the mint", () => {
    fc.assert(fc.property(stateAndRequest, ([state, request]) => {
      const decision = decideMint({ ...state, current: undefined }, request)
      assert.strictEqual(decision, state.inFlight ? "join-in-flight" : "mint")
    }))
  })

  it("spends the upstream's budget only when idle and the held token is missing, reported, or overruled", () => {
    fc.assert(fc.property(stateAndRequest, ([state, request]) => {
      if (decideMint(state, request) !== "mint") return
      assert.isFalse(state.inFlight)
      const reportsHeld = "version" in request && request.version === state.current
      assert.isTrue(state.current === undefined || request._tag === "Operator" || reportsHeld, label(request))
    }))
  })

  it("a scheduled renewal and a 401 about the same version decide alike", () => {
    fc.assert(fc.property(anyState, version, (state, reported) => {
      assert.strictEqual(decideMint(state, proactive(reported)), decideMint(state, unauthorized(reported)))
    }))
  })

  it("only the order of the reported and held versions matters, not their values", () => {
    fc.assert(fc.property(
      stateAndRequest,
      fc.integer({ min: 0, max: 1_000_000 }),
      ([state, request], shift) => {
        const shifted: MintState = state.current === undefined ? state : { ...state, current: state.current + shift }
        const moved: MintRequest = "version" in request ? { ...request, version: request.version + shift } : request
        assert.strictEqual(decideMint(shifted, moved), decideMint(state, request))
      }
    ))
  })

  it("a 401 storm about one version stops minting once its mint is under way or its successor is held", () => {
    fc.assert(fc.property(version, fc.integer({ min: 1, max: 1000 }), (reported, ahead) => {
      assert.strictEqual(decideMint({ current: reported, inFlight: false }, unauthorized(reported)), "mint")
      assert.strictEqual(decideMint({ current: reported, inFlight: true }, unauthorized(reported)), "join-in-flight")
      const successor = { current: reported + ahead, inFlight: false }
      assert.strictEqual(decideMint(successor, unauthorized(reported)), "serve-current")
    }))
  })
})
