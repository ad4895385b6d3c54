// The Kubernetes manifests under deploy/kubernetes, checked without a
// cluster: every object is validated against the Kubernetes OpenAPI schemas
// that kubernetes-models ships (types, required fields, enums; those schemas
// allow unknown fields, so a misspelt optional field is only caught where the
// checks below read it); then what only the set as a whole can get right:
// the Deployment mounts a ConfigMap and a Secret that exist, with the keys it
// names; the probes name a port that exists; the PodDisruptionBudget and the
// Service select the pods; the user is the image's (Dockerfile). The
// ConfigMap's config.json is loaded by the service's own loader
// (`parseServiceConfig`), with its secret files written where the
// Deployment mounts them and its variables set as the Deployment sets them,
// so a config the replicas would refuse at start fails here.
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { parseServiceConfig } from "@tokenbus/service"
import { generateSigningKeys } from "@tokenbus/testing"
import { ConfigProvider, Effect } from "effect"
import { Deployment } from "kubernetes-models/apps/v1/Deployment"
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget"
import { ConfigMap } from "kubernetes-models/v1/ConfigMap"
import { Secret } from "kubernetes-models/v1/Secret"
import { Service } from "kubernetes-models/v1/Service"
import { parseAllDocuments } from "yaml"
import { repoRoot } from "./support/ScratchInstall.ts"

const manifestsDir = join(repoRoot, "deploy", "kubernetes")

/** The model (and so the schema) of each kind deploy/ may hold; any other kind fails the check. */
const models: Record<string, new(data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget
}

// Only the fields the checks read; the schemas check the rest.
interface KubeObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> }
  readonly [field: string]: unknown
}
interface KeyItems {
  readonly items?: ReadonlyArray<{ readonly key: string; readonly path: string }>
}
interface Volume {
  readonly name: string
  readonly configMap?: KeyItems & { readonly name: string }
  readonly secret?: KeyItems & { readonly secretName: string }
  readonly emptyDir?: unknown
}
interface Probe {
  readonly httpGet: { readonly path: string; readonly port: string | number }
}
interface Container {
  readonly args: ReadonlyArray<string>
  readonly ports: ReadonlyArray<{ readonly name: string; readonly containerPort: number }>
  readonly env?: ReadonlyArray<{
    readonly name: string
    readonly valueFrom?: { readonly secretKeyRef?: { readonly name: string; readonly key: string } }
  }>
  readonly livenessProbe: Probe
  readonly readinessProbe: Probe
  readonly resources: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> }
  readonly securityContext: Record<string, unknown>
  readonly volumeMounts: ReadonlyArray<{ readonly name: string; readonly mountPath: string }>
}
interface PodSpec {
  readonly securityContext: Record<string, unknown>
  readonly containers: ReadonlyArray<Container>
  readonly volumes: ReadonlyArray<Volume>
}

const readManifests = async (): Promise<ReadonlyArray<{ readonly file: string; readonly object: KubeObject }>> => {
  const files = (await readdir(manifestsDir)).filter((name) => /\.ya?ml$/.test(name)).sort()
  const objects = []
  for (const file of files) {
    // YAML 1.1, as Kubernetes reads it (0440 is octal there, 440 in YAML 1.2)
    for (const document of parseAllDocuments(await readFile(join(manifestsDir, file), "utf8"), { version: "1.1" })) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((e) => e.message).join("; ")}`)
      const object = document.toJS() as KubeObject | null
      if (object !== null) objects.push({ file, object })
    }
  }
  return objects
}

const manifests = await readManifests()

const only = (kind: string): KubeObject => {
  const found = manifests.filter(({ object }) => object.kind === kind)
  if (found.length !== 1) throw new Error(`deploy/kubernetes holds ${found.length} ${kind} objects, not one`)
  return found[0]!.object
}

const deployment = only("Deployment")
const deploymentSpec = deployment["spec"] as {
  readonly replicas: number
  readonly selector: { readonly matchLabels: Record<string, string> }
  readonly template: { readonly metadata: { readonly labels: Record<string, string> }; readonly spec: PodSpec }
}
const pod = deploymentSpec.template.spec
const podLabels = deploymentSpec.template.metadata.labels
const container = pod.containers[0]!
const configMap = only("ConfigMap")
const secret = only("Secret")
const secretKeys = Object.keys({ ...(secret["stringData"] as object), ...(secret["data"] as object) })

const selects = (selector: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => podLabels[key] === value)

/** Where each file of a volume appears in the container: mount path + item path, with the key it holds. */
const mountedFiles = (): ReadonlyArray<{ readonly path: string; readonly volume: Volume; readonly key: string }> =>
  container.volumeMounts.flatMap((mount) => {
    const volume = pod.volumes.find((v) => v.name === mount.name)
    const items = volume?.configMap?.items ?? volume?.secret?.items ?? []
    if (volume === undefined) return []
    return items.map((item) => ({ path: `${mount.mountPath}/${item.path}`, volume, key: item.key }))
  })

/** Every `{ "file": path }` and `{ "env": name }` secret reference in a config file. */
const secretRefs = (value: unknown, found = { files: new Array<string>(), envs: new Array<string>() }) => {
  if (Array.isArray(value)) value.forEach((item) => secretRefs(item, found))
  else if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
    if (entries.length === 1 && entries[0]![0] === "file" && typeof entries[0]![1] === "string") {
      found.files.push(entries[0]![1])
    } else if (entries.length === 1 && entries[0]![0] === "env" && typeof entries[0]![1] === "string") {
      found.envs.push(entries[0]![1])
    } else entries.forEach(([, item]) => secretRefs(item, found))
  }
  return found
}

const configText = (configMap["data"] as Record<string, string>)["config.json"]!

describe("the Kubernetes manifests", () => {
  it.each(manifests.map(({ file, object }) => [`${file}: ${object.kind} ${object.metadata.name}`, object] as const))(
    "%s is valid against the Kubernetes schemas",
    (_name, object) => {
      const Model = models[`${object.apiVersion}/${object.kind}`]
      expect(Model, `a kind deploy/ may hold (${Object.keys(models).join(", ")})`).toBeDefined()
      expect(() => new Model!(object as never).validate()).not.toThrow()
    }
  )

  it("are checked by a validator that refuses a wrong object", () => {
    const wrong = { ...deployment, spec: { ...deploymentSpec, replicas: "3" } }
    expect(() => new Deployment(wrong as never).validate()).toThrow(/replicas must be integer/)
  })

  it("run three replicas behind a disruption budget that selects them", () => {
    expect(deploymentSpec.replicas).toBe(3)
    expect(selects(deploymentSpec.selector.matchLabels)).toBe(true)
    const budget = only("PodDisruptionBudget")["spec"] as {
      readonly minAvailable: number
      readonly selector: { readonly matchLabels: Record<string, string> }
    }
    expect(selects(budget.selector.matchLabels)).toBe(true)
    expect(budget.minAvailable).toBeGreaterThanOrEqual(1)
    expect(budget.minAvailable).toBeLessThan(deploymentSpec.replicas)
  })

  it("probe /healthz and /readyz on the port named http, which the Service targets", () => {
    const http = container.ports.find((port) => port.name === "http")
    expect(http?.containerPort).toBe(8080)
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" })
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" })
    const service = only("Service")["spec"] as {
      readonly selector: Record<string, string>
      readonly ports: ReadonlyArray<{ readonly targetPort: string }>
    }
    expect(selects(service.selector)).toBe(true)
    for (const port of service.ports) expect(container.ports.map((p) => p.name)).toContain(port.targetPort)
  })

  it("run as the image's non-root user, read-only, unprivileged, with resources", async () => {
    const dockerfile = await readFile(join(repoRoot, "Dockerfile"), "utf8")
    const [, uid, gid] = /^USER (\d+):(\d+)$/m.exec(dockerfile) ?? []
    expect(uid).toBeDefined()
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(uid), runAsGroup: Number(gid) })
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] }
    })
    expect(container.resources.requests).toHaveProperty("cpu")
    expect(container.resources.requests).toHaveProperty("memory")
    expect(container.resources.limits).toHaveProperty("memory")
  })

  it("mount a ConfigMap and a Secret that exist, with the keys they name", () => {
    for (const volume of pod.volumes) {
      if (volume.configMap !== undefined) {
        expect(volume.configMap.name).toBe(configMap.metadata.name)
        const keys = Object.keys(configMap["data"] as object)
        for (const item of volume.configMap.items ?? []) expect(keys).toContain(item.key)
      } else if (volume.secret !== undefined) {
        expect(volume.secret.secretName).toBe(secret.metadata.name)
        for (const item of volume.secret.items ?? []) expect(secretKeys).toContain(item.key)
      } else expect(volume.emptyDir, `volume ${volume.name}`).toBeDefined()
    }
    for (const mount of container.volumeMounts) expect(pod.volumes.map((v) => v.name)).toContain(mount.name)
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef
      if (ref === undefined) continue
      expect(ref.name).toBe(secret.metadata.name)
      expect(secretKeys).toContain(ref.key)
    }
  })

  it("give the command the mounted config, whose secrets are all mounted files or set variables", () => {
    const at = container.args.indexOf("--config")
    const configPath = container.args[at + 1]
    const files = mountedFiles()
    expect(files.find((file) => file.path === configPath)?.key).toBe("config.json")
    const refs = secretRefs(JSON.parse(configText))
    expect(refs.files.length).toBeGreaterThan(0)
    for (const path of refs.files) expect(files.find((file) => file.path === path)?.volume.secret, path).toBeDefined()
    for (const name of refs.envs) expect(container.env?.map((v) => v.name), name).toContain(name)
  })

  it.effect("hold a config the service loads: NATS credential and inbox, HTTP on 8080, sealed storage, signing", () =>
    Effect.gen(function*() {
      const root = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "tokenbus-manifests-")))
      yield* Effect.addFinalizer(() => Effect.promise(() => rm(root, { recursive: true, force: true })))
      // The Secret's placeholders stand for values of the right form: made here, written where they are mounted.
      const values: Record<string, string> = {
        "storage-key": Buffer.alloc(32, 7).toString("base64"),
        "signing-key.pem": generateSigningKeys().privateKeyPem
      }
      let text = configText
      for (const file of mountedFiles().filter((f) => f.volume.secret !== undefined)) {
        const path = join(root, file.path)
        yield* Effect.promise(() => mkdir(dirname(path), { recursive: true }))
        yield* Effect.promise(() => writeFile(path, values[file.key] ?? `test value of ${file.key}`))
        text = text.replaceAll(`"${file.path}"`, JSON.stringify(path))
      }
      const env = Object.fromEntries((container.env ?? []).map((v) => [v.name, `test value of ${v.name}`]))
      const config = yield* parseServiceConfig(text, "deploy/kubernetes/configmap.yaml").pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
      )
      expect(config.nats.auth).toMatchObject({ user: "tokenbus-replica" })
      expect(config.nats.inboxPrefix).toBe("_INBOX_tokenbus-replica")
      expect(config.storage.sealing).toBe("sealed")
      expect(config.signing).toBeDefined()
      expect(config.http).toMatchObject({ port: 8080 })
      expect(config.providers.length).toBeGreaterThan(0)
    }).pipe(Effect.scoped))
})
