/**
 * What the leader does with a request for a token: serve what it holds, join
 * the mint already under way, or mint. Keeping this a pure function of the
 * leader's state makes the single-flight rule ("one 401 storm, one mint")
 * testable without NATS or an upstream.
 */

export type MintRequest =
  | { readonly _tag: "Ensure" }
  | { readonly _tag: "Unauthorized"; readonly version: number }
  /** The lifecycle says `version` is due for renewal. */
  | { readonly _tag: "Proactive"; readonly version: number }
  /** An operator forces a new token (and a retry of rejected credentials). */
  | { readonly _tag: "Operator" }

export interface MintState {
  /** The version of the token the leader holds, if any. */
  readonly current: number | undefined
  /** Whether a mint is under way; its result supersedes `current`. */
  readonly inFlight: boolean
}

export type MintDecision = "serve-current" | "join-in-flight" | "mint" | "reload"

export const decideMint = (state: MintState, request: MintRequest): MintDecision => {
  // A mint under way will produce a version newer than any a consumer can
  // have seen, so it answers every request, whatever version it reports.
  if (state.inFlight) return "join-in-flight"
  // Holding nothing, every request needs a token, whatever version it names;
  // an operator asks for a new one whatever is held.
  if (state.current === undefined || request._tag === "Operator") return "mint"
  if (request._tag === "Ensure") return "serve-current"
  // A report about an older version comes from a consumer that has not yet
  // seen the newer token: serving it costs nothing upstream.
  if (request.version < state.current) return "serve-current"
  if (request.version === state.current) return "mint"
  // A version newer than the leader's own: its view is stale (a deposed
  // leader committed late) or the report is bogus. Either way, read KV again
  // before spending the upstream's budget; never mint on a version nobody holds.
  return "reload"
}
