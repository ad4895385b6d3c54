// The replica harness (@tokenbus/testing) wired into vitest: on every failing
// test, the logs of every replica started so far go to stderr; after all
// tests, every replica is SIGKILLed and its temp config removed.
import { dumpReplicaLogs, startedReplicas, stopAllReplicas } from "@tokenbus/testing"
import { afterAll, beforeEach } from "vitest"

/** Registers the cleanup in the calling file or describe block. */
export const useReplicaCleanup = (): void => {
  beforeEach((ctx) => {
    ctx.onTestFailed(() => {
      if (startedReplicas().length === 0) return
      process.stderr.write(`\n===== replica logs for failed test "${ctx.task.name}" =====\n${dumpReplicaLogs()}\n`)
    })
  })
  afterAll(stopAllReplicas)
}
