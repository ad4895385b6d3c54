export {
  acquireProject44Sim,
  type Project44Counters,
  type Project44Sim,
  Project44SimListenError,
  type Project44SimOptions,
  startProject44Sim
} from "./Project44Sim.ts"
export * from "./ItemPathSim.ts"
export * from "./OAuth2RefreshSim.ts"
