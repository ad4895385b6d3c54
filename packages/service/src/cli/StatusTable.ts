/**
 * `tokenbus status` for a person: the replicas and the providers they lead,
 * then one row per provider (leader and term, token version, reason, age,
 * expiry, budget, breaker), then what does not fit a column (why a breaker
 * is open, a state that does not read). Every value comes from the status
 * as data (status/ClusterStatus.ts); `--json` prints that instead.
 */
import type { ClusterStatus, ProviderStatus } from "../status/ClusterStatus.ts"

/** A duration for reading at a glance: `45s`, `2m05s`, `1h02m`, `3d04h`. */
export const shortDuration = (millis: number): string => {
  const seconds = Math.floor(Math.abs(millis) / 1000)
  const pad = (n: number) => String(n).padStart(2, "0")
  if (seconds < 60) return millis > -1000 && millis < 1000 ? `${(Math.abs(millis) / 1000).toFixed(1)}s` : `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad(seconds % 60)}s`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${pad(Math.floor(seconds / 60) % 60)}m`
  return `${Math.floor(seconds / 86_400)}d${pad(Math.floor(seconds / 3600) % 24)}h`
}

/** Columns padded to their widest cell, two spaces apart. */
export const renderTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

const since = (at: string, now: number) => shortDuration(now - Date.parse(at))

const expiry = (token: NonNullable<ProviderStatus["token"]>): string => {
  if (token.expiresInMillis === null) return "-"
  const left = shortDuration(token.expiresInMillis)
  return token.expiresInMillis < 0 ? `expired ${left} ago` : left
}

const budget = ({ budget }: ProviderStatus, now: number): string => {
  const windowText = `${budget.tokens}/${shortDuration(budget.windowMillis)}`
  if (budget.blockedUntil !== null) {
    return `0 left, blocked ${shortDuration(Date.parse(budget.blockedUntil) - now)} (${windowText})`
  }
  const next = budget.left > 0 ? "" : `, next in ${shortDuration(Math.max(0, Date.parse(budget.nextAt) - now))}`
  return `${budget.left} left of ${windowText}${next}${budget.limitFrom === "default" ? " (default limit)" : ""}`
}

const providerRow = (provider: ProviderStatus, now: number): ReadonlyArray<string> => [
  provider.provider,
  provider.leader === null ? "none" : `${provider.leader.replica}${provider.leader.member ? "" : " (gone)"}`,
  provider.leader === null ? "-" : String(provider.leader.term),
  provider.token === null ? "none" : String(provider.token.version),
  provider.token?.reason ?? "-",
  provider.token === null ? "-" : shortDuration(provider.token.ageMillis),
  provider.token === null ? "-" : expiry(provider.token),
  budget(provider, now),
  provider.breaker.open ? `OPEN ${since(provider.breaker.since ?? "", now)}` : "closed"
]

const notes = (status: ClusterStatus): ReadonlyArray<string> =>
  status.providers.flatMap((provider) => [
    ...(provider.problem === null ? [] : [`${provider.provider}: ${provider.problem}`]),
    ...(provider.leader === null || provider.leader.member
      ? []
      : [`${provider.provider}: the leader of record is not a live replica; a live one takes over as its lease ends`]),
    ...(provider.breaker.open ? [`${provider.provider}: breaker open: ${provider.breaker.reason ?? ""}`] : []),
    ...(provider.unconfirmedSince === null
      ? []
      : [`${provider.provider}: an upstream call since ${provider.unconfirmedSince} has no committed answer`])
  ])

const replicaSection = (status: ClusterStatus, now: number): string => {
  if (status.replicas.length === 0) return "Replicas: none listed in the leases bucket"
  const leads = (id: string) =>
    status.providers.filter((provider) => provider.leader?.replica === id).map((p) => p.provider).join(", ") || "-"
  const rows = status.replicas.map((replica) => [replica.id, `${since(replica.renewedAt, now)} ago`, leads(replica.id)])
  return renderTable(["REPLICA", "RENEWED", "LEADS"], rows)
}

/** The whole status as text, as of `status.at`. */
export const statusTable = (status: ClusterStatus): string => {
  const now = Date.parse(status.at)
  const header = ["PROVIDER", "LEADER", "TERM", "VERSION", "REASON", "AGE", "EXPIRES IN", "BUDGET", "BREAKER"]
  const providers = status.providers.length === 0
    ? "Providers: none in the tokens bucket (pass --config to list the configured ones)"
    : renderTable(header, status.providers.map((provider) => providerRow(provider, now)))
  return [
    `tokenbus status of prefix ${status.prefix} at ${status.at}`,
    "",
    replicaSection(status, now),
    "",
    providers,
    ...notes(status).map((note) => `  ${note}`)
  ].join("\n")
}
