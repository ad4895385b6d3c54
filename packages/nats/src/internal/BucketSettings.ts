/**
 * The settings tokenbus keeps on a KV bucket's stream (history, TTL,
 * replicas): what a caller asks for, what an existing stream has, which of
 * them differ, the stream change that applies one, and the message when the
 * server refuses it. No I/O, so the rules are tested without a server.
 *
 * The default replica count is the cluster's size up to 3, and never fewer
 * than an existing bucket has: a replica started while a server is down must
 * not shrink the buckets, and an operator's larger count is kept.
 */
import type { StreamConfig, StreamUpdateConfig } from "@nats-io/jetstream"

export type Setting = "history" | "ttlMillis" | "replicas"

export interface BucketOptions {
  /** Keys not written for this long disappear (JetStream `max_age`). Absent: they never do. */
  readonly ttlMillis?: number
  /** Revisions kept per key (`max_msgs_per_subject`); default 1. */
  readonly history?: number
  /**
   * How many servers hold a copy (`num_replicas`). Absent: as many as the
   * cluster has, up to 3, and never fewer than an existing bucket has.
   */
  readonly replicas?: number | undefined
  /** The configuration field each setting comes from (`{ ttlMillis: "lease.ttlMillis" }`), named in errors. */
  readonly settingNames?: { readonly [S in Setting]?: string }
}

export interface BucketSettings {
  readonly history: number
  /** 0: no TTL. */
  readonly ttlMillis: number
  readonly replicas: number
}

/** What tokenbus reads of the INFO the connected server sent. */
export interface ServerInfo {
  /** The cluster's name; absent on a server that is not in a cluster. */
  readonly cluster?: string | undefined
  /** The client URLs of the servers currently in the cluster, this one included (absent with `no_advertise`). */
  readonly connect_urls?: ReadonlyArray<string> | undefined
}

/** The most replicas the default asks for: three copies survive the loss of any one server. */
const defaultMostReplicas = 3

/** How many servers the cluster has, as far as `info` tells; undefined when it does not say. */
export const clusterSize = (info: ServerInfo | undefined): number | undefined => {
  if (info?.cluster === undefined) return 1
  const urls = new Set(info.connect_urls ?? [])
  return urls.size === 0 ? undefined : urls.size
}

/** The settings `options` ask for, on a server that sent `info`, for a bucket that has `stored` (if it exists). */
export const wantedSettings = (
  options: BucketOptions,
  info: ServerInfo | undefined,
  stored: BucketSettings | undefined
): BucketSettings => ({
  history: options.history ?? 1,
  ttlMillis: options.ttlMillis ?? 0,
  replicas: options.replicas ??
    Math.max(stored?.replicas ?? 1, Math.min(defaultMostReplicas, clusterSize(info) ?? defaultMostReplicas))
})

export const storedSettings = (config: StreamConfig): BucketSettings => ({
  history: config.max_msgs_per_subject,
  ttlMillis: Math.round(config.max_age / 1e6),
  replicas: config.num_replicas
})

/** The settings that differ, in the order they are applied: replicas last, as the one a cluster may refuse. */
export const changedSettings = (stored: BucketSettings, wanted: BucketSettings): ReadonlyArray<Setting> =>
  (["history", "ttlMillis", "replicas"] as const).filter((setting) => stored[setting] !== wanted[setting])

/** The stream change that applies `setting`, given the stream's current `config`. */
export const streamPatch = (
  setting: Setting,
  wanted: BucketSettings,
  config: StreamConfig
): Partial<StreamUpdateConfig> => {
  switch (setting) {
    case "history":
      return { max_msgs_per_subject: wanted.history }
    case "replicas":
      return { num_replicas: wanted.replicas }
    case "ttlMillis": {
      const maxAge = wanted.ttlMillis * 1e6
      // The server refuses a duplicate window longer than max_age; it made the window max_age when it created the
      // stream, so a shorter TTL needs a shorter window too.
      const window = maxAge > 0 && config.duplicate_window > maxAge ? { duplicate_window: maxAge } : {}
      return { max_age: maxAge, ...window }
    }
  }
}

export const describeValue = (setting: Setting, value: number): string =>
  setting === "ttlMillis" ? (value === 0 ? "none" : `${value} ms`) : String(value)

const label = (setting: Setting): string => (setting === "ttlMillis" ? "ttl" : setting)

const editFlag = (setting: Setting, value: number): string => {
  switch (setting) {
    case "history":
      return `--max-msgs-per-subject ${value}`
    case "ttlMillis":
      return `--max-age ${value}ms`
    case "replicas":
      return `--replicas ${value}`
  }
}

/** The one-line message for a change of `setting` from `stored` to `wanted` that the server refused with `reason`. */
export const refusedChangeMessage = (
  bucket: string,
  setting: Setting,
  stored: BucketSettings,
  wanted: BucketSettings,
  reason: string,
  options: BucketOptions
): string => {
  const name = options.settingNames?.[setting]
  const what = `${label(setting)}${name === undefined ? "" : ` (${name})`}`
  const from = describeValue(setting, stored[setting])
  const to = describeValue(setting, wanted[setting])
  const change = `change the stream yourself (nats stream edit KV_${bucket} ${editFlag(setting, wanted[setting])})`
  const fix = setting === "replicas"
    ? `Set ${name ?? "replicas"} to ${stored.replicas} or to at most the number of JetStream servers, or ${change}`
    : name === undefined
    ? `Please ${change}`
    : `Set ${name} to ${stored[setting]}, or ${change}`
  return `KV bucket ${bucket}: cannot change ${what} from ${from} to ${to}: ${reason}. ${fix}, and start again`
}

/** The one-line message for a bucket the server would not create with `wanted`. */
export const refusedCreateMessage = (
  bucket: string,
  wanted: BucketSettings,
  reason: string,
  options: BucketOptions
): string => {
  const replicas = options.settingNames?.replicas ?? "replicas"
  const settings = `replicas ${wanted.replicas}, ttl ${describeValue("ttlMillis", wanted.ttlMillis)}, ` +
    `history ${wanted.history}`
  const hint = wanted.replicas > 1
    ? `. If the cluster has fewer than ${wanted.replicas} JetStream servers, set ${replicas} to at most their number`
    : ""
  return `cannot create KV bucket ${bucket} (${settings}): ${reason}${hint}`
}
