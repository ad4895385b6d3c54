/**
 * The simulated project44 upstream with random credentials, as tests and the
 * benchmark run it beside their replicas: the credentials are what the
 * replicas' configuration refers to, and random ones make a leak in the
 * replicas' logs easy to find.
 */
import { randomBytes } from "node:crypto"
import { type Project44Sim, type Project44SimOptions, startProject44Sim } from "@tokenbus/sim"

export interface Upstream {
  readonly sim: Project44Sim
  readonly clientId: string
  readonly clientSecret: string
}

export const startUpstream = async (options: Partial<Project44SimOptions> = {}): Promise<Upstream> => {
  const clientId = `client-${randomBytes(4).toString("hex")}`
  const clientSecret = `secret-${randomBytes(16).toString("hex")}`
  const sim = await startProject44Sim({ clientId, clientSecret, port: 0, ...options })
  return { sim, clientId, clientSecret }
}
