/**
 * A full garbage collection on demand, for heap measurements, without asking
 * whoever runs the bench to pass `--expose-gc`: V8 exposes `gc` to contexts
 * created after the flag is set.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

/** Collects twice: the first pass may only queue finalizers that free more. */
export const forceGc = (): void => {
  gc()
  gc()
}
