/**
 * What an operator may see of a provider's state in KV: everything but its
 * secrets. The record is decoded with a schema that has no access token and
 * no carry, so those fields are dropped unread, sealed or not: nothing here
 * can open, hold or print them. A state written before versions were
 * explicit gives its token the revision of the record, as TokenStore.ts reads it.
 */
import { Breaker, BudgetState, Fence, StoredToken, Unconfirmed } from "@tokenbus/core"
import { Option, Schema, Struct } from "effect"

export const TokenView = StoredToken.mapFields(Struct.omit(["accessToken"]))
export type TokenView = typeof TokenView.Type

export const StateView = Schema.Struct({
  token: Schema.optionalKey(TokenView),
  budget: Schema.optionalKey(BudgetState),
  breaker: Schema.optionalKey(Breaker),
  fence: Schema.optionalKey(Fence),
  unconfirmed: Schema.optionalKey(Unconfirmed)
})
export type StateView = typeof StateView.Type

const decodeView = Schema.decodeUnknownOption(Schema.fromJsonString(StateView))

/** The readable parts of the record stored at `revision`; none when it is not a provider's state. */
export const viewOf = (value: string, revision: number): Option.Option<StateView> =>
  Option.map(decodeView(value), (view) =>
    view.token === undefined || view.token.version !== undefined
      ? view
      : { ...view, token: { ...view.token, version: revision } })
