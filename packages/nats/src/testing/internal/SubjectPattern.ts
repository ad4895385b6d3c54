/**
 * NATS subject syntax for the in-memory server: subjects are dot-separated
 * tokens; a subscription may use `*` for exactly one token and, as its last
 * token, `>` for one or more. A wildcard is a whole token (`a*` is literal),
 * as in nats-server's sublist.
 */

export type Tokens = ReadonlyArray<string>

const whitespace = /\s/

const tokensOf = (subject: string): Tokens | undefined => {
  if (subject.length === 0 || whitespace.test(subject)) return undefined
  const tokens = subject.split(".")
  return tokens.includes("") ? undefined : tokens
}

const isWildcard = (token: string): boolean => token === "*" || token === ">"

/** The tokens of a subject a message can be sent to, or undefined if it is not one (empty tokens, wildcards). */
export const publishTokens = (subject: string): Tokens | undefined => {
  const tokens = tokensOf(subject)
  return tokens?.some(isWildcard) === true ? undefined : tokens
}

/** The tokens of a subscription's subject, or undefined if it is not one (`>` anywhere but last). */
export const patternTokens = (subject: string): Tokens | undefined => {
  const tokens = tokensOf(subject)
  return tokens?.slice(0, -1).includes(">") === true ? undefined : tokens
}

export const matches = (pattern: Tokens, subject: Tokens): boolean => {
  for (let i = 0; i < pattern.length; i++) {
    const token = pattern[i]
    if (token === ">") return subject.length > i
    if (i >= subject.length || (token !== "*" && token !== subject[i])) return false
  }
  return pattern.length === subject.length
}
