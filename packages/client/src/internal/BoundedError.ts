/**
 * An error reply from the bus, cut to a bounded size before it reaches the
 * consumer. Anyone who can answer on the bus can send an error reply, and a
 * consumer logs what it gets: a forged reply with a megabyte message (or
 * provider id, or list of versions) must not reach it whole. Replicas' own
 * messages are far below the bounds.
 */
import {
  CredentialsRejected,
  InvalidRequest,
  type ProtocolError,
  ProviderNotFound,
  TokenUnavailable,
  UnsupportedProtocolVersion
} from "@tokenbus/core"

/** The most characters of an error reply's message the consumer is given. */
export const maxErrorMessageChars = 2_000

const maxProviderChars = 256
const maxVersions = 16

const clip = (text: string, maxChars: number): string =>
  text.length <= maxChars ? text : `${text.slice(0, maxChars)}… (${text.length - maxChars} more characters dropped)`

/** `error` with every field of unbounded size cut to its bound. */
export const boundedError = (error: ProtocolError): ProtocolError => {
  const message = clip(error.message, maxErrorMessageChars)
  switch (error._tag) {
    case "InvalidRequest":
      return message === error.message ? error : new InvalidRequest({ message })
    case "UnsupportedProtocolVersion": {
      const { requested, supported } = error
      if (message === error.message && supported.length <= maxVersions) return error
      return new UnsupportedProtocolVersion({ requested, supported: supported.slice(0, maxVersions), message })
    }
    case "ProviderNotFound":
    case "TokenUnavailable":
    case "CredentialsRejected": {
      const provider = clip(error.provider, maxProviderChars)
      if (message === error.message && provider === error.provider) return error
      if (error._tag === "ProviderNotFound") return new ProviderNotFound({ provider, message })
      if (error._tag === "TokenUnavailable") return new TokenUnavailable({ provider, message })
      return new CredentialsRejected({ provider, since: error.since, message })
    }
  }
}
