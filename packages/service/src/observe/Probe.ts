/**
 * One probe's answer (`/healthz`, `/readyz`): up or not, and why not in a
 * few words, which is what the 503's JSON body says.
 */
export interface Probe {
  readonly ok: boolean
  readonly reason?: string
}

export const probeFailed = (reason: string): Probe => ({ ok: false, reason })
