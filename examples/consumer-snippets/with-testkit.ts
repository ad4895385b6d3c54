// Testing (`npm install --save-dev @tokenbus/testkit`): NATS, a simulated project44 and tokenbus in one call.
import { TokenbusClient } from "@tokenbus/client"
import { startTokenbus } from "@tokenbus/testkit"
import assert from "node:assert/strict"
import { test } from "node:test"

test("recovers from a revoked token with one new mint", async () => {
  await using kit = await startTokenbus()
  const tokens = await TokenbusClient.connect(kit) // the kit is the client's options
  try {
    assert.equal((await tokens.fetch(kit.provider, kit.resourceUrl)).status, 200)
    const mints = kit.mintCount()
    kit.revoke() // every token issued so far now gets a 401
    assert.equal((await tokens.fetch(kit.provider, kit.resourceUrl)).status, 200)
    assert.equal(kit.mintCount(), mints + 1)
  } finally {
    await tokens.close()
  }
}) // the kit stops here: replicas, upstream and container
