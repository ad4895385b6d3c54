// The settings the kit's tests write a replica configuration from: one
// fixed cluster (NATS, prefix, the project44 provider) over the kit's files,
// so each test names only what it is about (the policy, a bus key).
import type { KitFiles } from "../../src/internal/KitFiles.ts"
import type { ProviderPolicy, ServiceConfigSettings } from "../../src/internal/ServiceConfigFile.ts"

/** The settings over `files`, with `policy` (none by default) and, when given, the bus key file. */
export const configSettings = (
  files: Pick<KitFiles, "secretFile" | "storageKeyFile" | "signingKeyFile">,
  options: { readonly policy?: ProviderPolicy; readonly busKeyFile?: string | undefined } = {}
): ServiceConfigSettings => ({
  natsUrl: "nats://127.0.0.1:4222",
  prefix: "t0badcafe",
  provider: "project44",
  tokenUrl: "http://127.0.0.1:8044/api/v4/oauth2/token",
  clientId: "client-1",
  secretFile: files.secretFile,
  storageKeyFile: files.storageKeyFile,
  signingKeyFile: files.signingKeyFile,
  ...(options.busKeyFile === undefined ? {} : { busKeyFile: options.busKeyFile }),
  policy: options.policy ?? {}
})
