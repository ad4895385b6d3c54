/**
 * The bus keys of test clusters (the service's `bus` section: PROTOCOL.md,
 * "Sealed tokens"). `startCluster({ bus: true })` gives a cluster a key of
 * its own, as it does a signing key (SigningKeys.ts), and `cluster.busKeys`
 * is what its clients open tokens with; the key reaches the replicas through
 * their environment (`$TOKENBUS_TEST_BUS_KEY`), as the provider's secret does.
 */
import { randomBytes } from "node:crypto"

export const BUS_KEY_ENV = "TOKENBUS_TEST_BUS_KEY"

/** A bus key as a client's `busKeys` takes it: its id and the base64 of its 32 bytes. */
export interface BusKey {
  readonly id: string
  readonly key: string
}

export const generateBusKey = (id = "bus-1"): BusKey => ({ id, key: randomBytes(32).toString("base64") })

/** The `bus` section of a replica config sealing with `key`, read from `$TOKENBUS_TEST_BUS_KEY`. */
export const testBus = (key: BusKey) => ({ keys: [{ id: key.id, key: { env: BUS_KEY_ENV } }] }) as const
