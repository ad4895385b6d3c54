// Options that make no sense fail before anything starts, naming the field;
// the image comes from the option, else $NATS_IMAGE, else the local default,
// which alone is never pulled.
import { describe, expect, it } from "@effect/vitest"
import { DEFAULT_NATS_IMAGE } from "../src/internal/DockerImage.ts"
import { startTokenbus } from "../src/startTokenbus.ts"
import { kitSettings } from "../src/StartTokenbusOptions.ts"
import { TestKitError } from "../src/TestKitError.ts"

describe("startTokenbus options", () => {
  it("rejects a replica count or rate limit that is not a positive integer, before Docker is asked", async () => {
    const lines: Array<string> = []
    const log = (line: string) => void lines.push(line)
    await expect(startTokenbus({ replicas: 0, log })).rejects.toMatchObject({ step: "options" })
    const failure = await startTokenbus({ rateLimit: { tokens: 1, windowMillis: 0.5 }, log }).catch((e) => e)
    expect(failure).toBeInstanceOf(TestKitError)
    expect(failure.message).toBe("rateLimit.windowMillis must be a positive integer")
    expect(lines).toEqual([])
  })

  it("takes the image from the option, else $NATS_IMAGE, else the default, and pulls all but the default", () => {
    const saved = process.env["NATS_IMAGE"]
    try {
      delete process.env["NATS_IMAGE"]
      expect(kitSettings({ log: false })).toMatchObject({ image: DEFAULT_NATS_IMAGE, pull: false, replicas: 2 })
      process.env["NATS_IMAGE"] = "nats:2.15"
      expect(kitSettings({ log: false })).toMatchObject({ image: "nats:2.15", pull: true })
      expect(kitSettings({ image: "mine:1", pull: false, log: false })).toMatchObject({ image: "mine:1", pull: false })
    } finally {
      if (saved === undefined) delete process.env["NATS_IMAGE"]
      else process.env["NATS_IMAGE"] = saved
    }
  })
})
