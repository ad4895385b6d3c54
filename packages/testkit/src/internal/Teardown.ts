/**
 * Stopping what a kit started, newest first (replicas before the NATS server
 * they are connected to), each step attempted even when an earlier one
 * failed, so that one stuck part does not leave the others running. Closing
 * twice waits for the same run.
 */
import { messageOf, TestKitError } from "../TestKitError.ts"

interface Step {
  readonly what: string
  readonly run: () => Promise<void>
}

export class Teardown {
  readonly #steps: Array<Step> = []
  #closing: Promise<void> | undefined

  add(what: string, run: () => Promise<void>): void {
    this.#steps.push({ what, run })
  }

  get closing(): boolean {
    return this.#closing !== undefined
  }

  close(): Promise<void> {
    this.#closing ??= this.#run()
    return this.#closing
  }

  async #run(): Promise<void> {
    const failures: Array<string> = []
    for (const step of this.#steps.splice(0).reverse()) {
      await step.run().catch((error: unknown) => void failures.push(`${step.what}: ${messageOf(error)}`))
    }
    if (failures.length > 0) {
      throw new TestKitError({ step: "stop", message: `stopping the kit failed: ${failures.join("; ")}` })
    }
  }
}
