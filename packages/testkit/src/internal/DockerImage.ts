/**
 * What must hold before a NATS container can start, each with a message that
 * says what to do when it does not: Docker reachable, and the image on this
 * machine. The default image is built locally from Debian's nats-server
 * binary and published nowhere, so the kit never tries to pull it; any other
 * image is pulled when missing, unless told not to.
 */
import { type ContainerRuntimeClient, getContainerRuntimeClient, ImageName } from "testcontainers"
import { messageOf, TestKitError } from "../TestKitError.ts"
import type { ProgressLog } from "./Progress.ts"

export const DEFAULT_NATS_IMAGE = "tokenbus/nats-server:2.15-debian"

/** The `image` option, else `$NATS_IMAGE`, else the local default. */
export const natsImage = (option: string | undefined): string =>
  // An empty variable counts as unset, as a shell's `NATS_IMAGE= cmd` means.
  option ?? (process.env["NATS_IMAGE"] || DEFAULT_NATS_IMAGE)

/** The part of Testcontainers' client the checks use. */
export type ImageClient = Pick<ContainerRuntimeClient["image"], "exists" | "pull">

export const dockerClient = async (
  connect: () => Promise<ContainerRuntimeClient> = getContainerRuntimeClient
): Promise<ContainerRuntimeClient> => {
  try {
    return await connect()
  } catch (cause) {
    throw new TestKitError({
      step: "docker",
      message: `Docker is not reachable (${messageOf(cause)}). The kit runs NATS in a container through ` +
        "Testcontainers: start the Docker daemon (`sudo systemctl start docker`, or `dockerd &` as root) " +
        "or point DOCKER_HOST at one.",
      cause
    })
  }
}

const howToGet = (image: string): string =>
  image === DEFAULT_NATS_IMAGE
    ? `${image} is built locally from Debian's nats-server 2.15 binary (the tokenbus repository's scripts/test ` +
      "does it: ensure_nats_image in scripts/ensure.sh) and published nowhere. Build it that way, or use an " +
      "image you can pull: set NATS_IMAGE=nats:2.15 (or the `image` option) and run `docker pull nats:2.15`."
    : `Pull it (\`docker pull ${image}\`) where its registry is reachable, or build it and tag it ${image}.`

/** Resolves once `image` is on this machine; pulls it first if allowed. */
export const ensureImage = async (
  client: ImageClient,
  image: string,
  pull: boolean,
  log: ProgressLog
): Promise<void> => {
  const name = ImageName.fromString(image)
  const present = await client.exists(name).catch((cause: unknown) => {
    const message = `Docker cannot say whether the image ${image} is there: ${messageOf(cause)}`
    throw new TestKitError({ step: "docker", message, cause })
  })
  if (present) return
  const missing = `The NATS image ${image} is not on this machine`
  if (!pull) throw new TestKitError({ step: "image", message: `${missing} (pulling is off). ${howToGet(image)}` })
  log(`pulling ${image} ...`)
  let failure: unknown
  // A pull whose stream reports an error still "succeeds": whether the image is there says more.
  await client.pull(name).catch((cause: unknown) => void (failure = cause))
  if (failure === undefined && (await client.exists(name))) return
  const why = failure === undefined ? "the pull ended without it" : messageOf(failure)
  throw new TestKitError({
    step: "image",
    message: `${missing} and pulling it failed (${why}). ${howToGet(image)}`,
    ...(failure === undefined ? {} : { cause: failure })
  })
}
