// The rules a KV bucket's settings are reconciled by (internal/BucketSettings.ts):
// the default replica count follows the cluster's size up to 3 and never
// lowers an existing bucket's, an explicit count is applied as given, only
// settings that differ are changed, a shorter TTL also shortens the
// duplicate window (or the server refuses it), and a refusal reads as one
// line naming the bucket, the setting, both values and what to do.
import { assert, describe, it } from "@effect/vitest"
import type { StreamConfig } from "@nats-io/jetstream"
import {
  changedSettings,
  clusterSize,
  refusedChangeMessage,
  refusedCreateMessage,
  streamPatch,
  wantedSettings
} from "../src/internal/BucketSettings.ts"

const single = { cluster: undefined }
const cluster = (...ports: Array<number>) => ({ cluster: "c", connect_urls: ports.map((port) => `127.0.0.1:${port}`) })
const stored = (replicas: number) => ({ history: 1, ttlMillis: 3000, replicas })

describe("the default replica count", () => {
  it("is 1 on a server outside a cluster, the servers the cluster shows up to 3 on one", () => {
    assert.strictEqual(wantedSettings({}, single, undefined).replicas, 1)
    assert.strictEqual(wantedSettings({}, cluster(1, 2), undefined).replicas, 2)
    assert.strictEqual(wantedSettings({}, cluster(1, 2, 3), undefined).replicas, 3)
    assert.strictEqual(wantedSettings({}, cluster(1, 2, 3, 4, 5), undefined).replicas, 3)
  })

  it("counts each advertised URL once, and takes 3 from a cluster that advertises none", () => {
    assert.strictEqual(clusterSize({ cluster: "c", connect_urls: ["a:1", "a:1", "b:1"] }), 2)
    assert.strictEqual(wantedSettings({}, { cluster: "c" }, undefined).replicas, 3)
  })

  it("never lowers what an existing bucket has, as when a server is down at start", () => {
    assert.strictEqual(wantedSettings({}, cluster(1, 2), stored(3)).replicas, 3)
    assert.strictEqual(wantedSettings({}, cluster(1, 2, 3), stored(5)).replicas, 5)
    assert.strictEqual(wantedSettings({}, cluster(1, 2, 3), stored(1)).replicas, 3)
  })

  it("gives way to an explicit count, also a lower one", () => {
    assert.strictEqual(wantedSettings({ replicas: 1 }, cluster(1, 2, 3), stored(3)).replicas, 1)
    assert.strictEqual(wantedSettings({ replicas: 3 }, single, undefined).replicas, 3)
  })
})

describe("reconciling an existing bucket", () => {
  it("changes only the settings that differ, replicas last", () => {
    const wanted = wantedSettings({ ttlMillis: 6000, history: 1 }, cluster(1, 2, 3), stored(1))
    assert.deepStrictEqual(changedSettings(stored(1), wanted), ["ttlMillis", "replicas"])
    assert.deepStrictEqual(changedSettings(stored(3), { ...stored(3) }), [])
    assert.deepStrictEqual(changedSettings(stored(3), { ...stored(3), history: 64 }), ["history"])
  })

  it("a TTL without one, or absent, means no TTL", () => {
    assert.strictEqual(wantedSettings({}, single, stored(1)).ttlMillis, 0)
    assert.deepStrictEqual(changedSettings(stored(1), wantedSettings({}, single, stored(1))), ["ttlMillis"])
  })

  it("shortens the duplicate window with the TTL, and leaves it otherwise", () => {
    const config = { duplicate_window: 6000e6 } as StreamConfig
    assert.deepStrictEqual(streamPatch("ttlMillis", { ...stored(3), ttlMillis: 3000 }, config), {
      max_age: 3000e6,
      duplicate_window: 3000e6
    })
    assert.deepStrictEqual(streamPatch("ttlMillis", { ...stored(3), ttlMillis: 9000 }, config), { max_age: 9000e6 })
    assert.deepStrictEqual(streamPatch("ttlMillis", { ...stored(3), ttlMillis: 0 }, config), { max_age: 0 })
    assert.deepStrictEqual(streamPatch("replicas", stored(3), config), { num_replicas: 3 })
  })
})

describe("a refused setting", () => {
  const options = { settingNames: { ttlMillis: "lease.ttlMillis", replicas: "nats.replicas" } }

  it("names the bucket, the setting and its field, both values and what to do", () => {
    const reason = "replicas > 1 not supported in non-clustered mode"
    assert.strictEqual(
      refusedChangeMessage("tb-leases", "replicas", stored(1), stored(3), reason, options),
      "KV bucket tb-leases: cannot change replicas (nats.replicas) from 1 to 3: " +
        "replicas > 1 not supported in non-clustered mode. Set nats.replicas to 1 or to at most the number of " +
        "JetStream servers, or change the stream yourself (nats stream edit KV_tb-leases --replicas 3), and start again"
    )
    assert.strictEqual(
      refusedChangeMessage("tb-leases", "ttlMillis", stored(3), { ...stored(3), ttlMillis: 6000 }, "denied", options),
      "KV bucket tb-leases: cannot change ttl (lease.ttlMillis) from 3000 ms to 6000 ms: denied. " +
        "Set lease.ttlMillis to 3000, or change the stream yourself " +
        "(nats stream edit KV_tb-leases --max-age 6000ms), and start again"
    )
  })

  it("a setting no configuration field sets is left to the operator", () => {
    const message = refusedChangeMessage("tb-tokens", "history", stored(3), { ...stored(3), history: 64 }, "no", {})
    assert.strictEqual(
      message,
      "KV bucket tb-tokens: cannot change history from 1 to 64: no. " +
        "Please change the stream yourself (nats stream edit KV_tb-tokens --max-msgs-per-subject 64), and start again"
    )
  })

  it("a bucket that cannot be created with several replicas points at the replica count", () => {
    assert.strictEqual(
      refusedCreateMessage("tb-leases", stored(3), "no suitable peers for placement", options),
      "cannot create KV bucket tb-leases (replicas 3, ttl 3000 ms, history 1): no suitable peers for placement. " +
        "If the cluster has fewer than 3 JetStream servers, set nats.replicas to at most their number"
    )
  })
})
