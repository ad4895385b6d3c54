/**
 * One call for a consumer's integration test: NATS with JetStream in a
 * container, a simulated project44 with random credentials, and tokenbus
 * replicas (the installed @tokenbus/service's `tokenbus serve`, as child
 * processes) brokering its token. It resolves once a replica leads and holds
 * the first token, so a client's first `getToken` is answered at once. When
 * a step fails, what had started is stopped and the error says which step
 * failed and what to do.
 */
import { randomBytes } from "node:crypto"
import { startProject44Sim } from "@tokenbus/sim"
import { makeKitFiles } from "./internal/KitFiles.ts"
import { startNatsContainer } from "./internal/NatsContainer.ts"
import { elapsed } from "./internal/Progress.ts"
import { ReplicaFleet } from "./internal/ReplicaFleet.ts"
import { serviceBin } from "./internal/ServiceBin.ts"
import { type ProviderPolicy, serviceConfig } from "./internal/ServiceConfigFile.ts"
import { Teardown } from "./internal/Teardown.ts"
import { type KitSettings, kitSettings, type StartTokenbusOptions } from "./StartTokenbusOptions.ts"
import { messageOf, TestKitError } from "./TestKitError.ts"
import { type KitParts, PROVIDER, TokenbusKit } from "./TokenbusKit.ts"

const startUpstream = async (settings: KitSettings) => {
  const clientId = `client-${randomBytes(4).toString("hex")}`
  const clientSecret = `secret-${randomBytes(16).toString("hex")}`
  try {
    const sim = await startProject44Sim({ ...settings.upstream, clientId, clientSecret, port: 0 })
    return { sim, clientId, clientSecret }
  } catch (cause) {
    const message = `the simulated project44 did not start: ${messageOf(cause)}`
    throw new TestKitError({ step: "upstream", message, cause })
  }
}

const startNats = async (settings: KitSettings, teardown: Teardown) => {
  const started = performance.now()
  settings.log(`starting NATS in a container (${settings.image}) ...`)
  const nats = await startNatsContainer({
    image: settings.image,
    pull: settings.pull,
    label: settings.prefix,
    timeoutMillis: settings.timeoutMillis,
    log: settings.log
  })
  teardown.add("the NATS container", nats.stop)
  settings.log(`NATS ready at ${nats.url}, JetStream healthy, in ${elapsed(started)}`)
  return nats
}

const startParts = async (settings: KitSettings, teardown: Teardown): Promise<KitParts> => {
  // First, so that a missing service fails before a container is started for nothing.
  const bin = serviceBin()
  const nats = await startNats(settings, teardown)
  const { sim, clientId, clientSecret } = await startUpstream(settings)
  teardown.add("the simulated project44", sim.close)
  const files = await makeKitFiles(clientSecret)
  teardown.add("the temp files", files.remove)
  const configWith = (policy: ProviderPolicy) =>
    serviceConfig({
      natsUrl: nats.url,
      prefix: settings.prefix,
      provider: PROVIDER,
      tokenUrl: sim.tokenUrl,
      clientId,
      secretFile: files.secretFile,
      storageKeyFile: files.storageKeyFile,
      signingKeyFile: files.signingKeyFile,
      busKeyFile: settings.sealBus ? files.busKeyFile : undefined,
      policy
    })
  const fleet = new ReplicaFleet({
    bin,
    dir: files.dir,
    provider: PROVIDER,
    logLevel: settings.logLevel,
    timeoutMillis: settings.timeoutMillis
  })
  teardown.add("the replicas", () => fleet.stop())
  const started = performance.now()
  settings.log(`starting ${settings.replicas} tokenbus replica(s): ${bin} serve, simulated project44 at ${sim.baseUrl}`)
  await fleet.launch(settings.replicas, configWith(settings.policy))
  settings.log(`replicas ready and a token minted in ${elapsed(started)}`)
  const container = { id: nats.id, image: settings.image, monitorUrl: `http://127.0.0.1:${nats.monitorPort}` }
  const verifyKey = files.verifyKey
  const busKey = settings.sealBus ? files.busKey : undefined
  return { settings, natsUrl: nats.url, container, sim, clientId, verifyKey, busKey, fleet, configWith, teardown }
}

/**
 * Starts NATS, the simulated project44 and the replicas; rejects with a
 * `TestKitError` (after stopping whatever had started) when one of them
 * cannot start.
 */
export const startTokenbus = async (options: StartTokenbusOptions = {}): Promise<TokenbusKit> => {
  const settings = kitSettings(options)
  const started = performance.now()
  const teardown = new Teardown()
  try {
    const kit = new TokenbusKit(await startParts(settings, teardown))
    settings.log(`tokenbus ready in ${elapsed(started)}: prefix ${kit.prefix}, NATS ${kit.nats.servers.join(",")}`)
    return kit
  } catch (error) {
    settings.log(`start failed after ${elapsed(started)}; stopping what had started`)
    await teardown.close().catch((stopError: unknown) => settings.log(messageOf(stopError)))
    throw error
  }
}
