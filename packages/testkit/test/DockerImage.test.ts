// Before a container starts, the kit checks the image, with Testcontainers'
// image client (here a stand-in that records what it was asked): the local
// default image, published nowhere, is never pulled, and its absence is
// explained with how to build it or which image to use instead; any other
// image is pulled, and a failed pull says how to get it. An unreachable
// Docker is reported as such.
import { describe, expect, it } from "@effect/vitest"
import type { ContainerRuntimeClient, ImageName } from "testcontainers"
import { DEFAULT_NATS_IMAGE, dockerClient, ensureImage, type ImageClient } from "../src/internal/DockerImage.ts"
import { TestKitError } from "../src/TestKitError.ts"

/** An image client whose images appear once pulled, if `pullWorks`. */
const images = (present: ReadonlyArray<string>, pullWorks: boolean) => {
  const have = new Set(present)
  const pulled: Array<string> = []
  const client: ImageClient = {
    exists: async (name: ImageName) => have.has(name.string),
    pull: async (name: ImageName) => {
      pulled.push(name.string)
      if (!pullWorks) throw new Error("registry unreachable")
      have.add(name.string)
    }
  }
  return { client, pulled }
}

const failureOf = (promise: Promise<unknown>): Promise<TestKitError> =>
  promise.then(
    () => {
      throw new Error("expected a failure")
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(TestKitError)
      return error as TestKitError
    }
  )

const quiet = () => undefined

describe("ensureImage", () => {
  it("uses an image that is there without pulling it", async () => {
    const { client, pulled } = images([DEFAULT_NATS_IMAGE], false)
    await ensureImage(client, DEFAULT_NATS_IMAGE, false, quiet)
    expect(pulled).toEqual([])
  })

  it("never pulls the missing default image, and says how to build it or what to use instead", async () => {
    const { client, pulled } = images([], true)
    const failure = await failureOf(ensureImage(client, DEFAULT_NATS_IMAGE, false, quiet))
    expect(pulled).toEqual([])
    expect(failure.step).toBe("image")
    expect(failure.message).toContain(`The NATS image ${DEFAULT_NATS_IMAGE} is not on this machine`)
    expect(failure.message).toContain("scripts/test")
    expect(failure.message).toContain("NATS_IMAGE=nats:2.15")
  })

  it("pulls another missing image, saying so", async () => {
    const { client, pulled } = images([], true)
    const lines: Array<string> = []
    await ensureImage(client, "nats:2.15", true, (line) => lines.push(line))
    expect(pulled).toEqual(["nats:2.15"])
    expect(lines).toEqual(["pulling nats:2.15 ..."])
  })

  it("explains a failed pull with the pull's error and the command to run", async () => {
    const { client } = images([], false)
    const failure = await failureOf(ensureImage(client, "nats:2.15", true, quiet))
    expect(failure.step).toBe("image")
    expect(failure.message).toContain("pulling it failed (registry unreachable)")
    expect(failure.message).toContain("docker pull nats:2.15")
  })
})

describe("dockerClient", () => {
  it("reports an unreachable Docker with what to start", async () => {
    const unreachable = async (): Promise<ContainerRuntimeClient> => {
      throw new Error("Could not find a working container runtime strategy")
    }
    const failure = await failureOf(dockerClient(unreachable))
    expect(failure.step).toBe("docker")
    expect(failure.message).toContain("Docker is not reachable (Could not find a working container runtime strategy)")
    expect(failure.message).toContain("DOCKER_HOST")
  })
})
