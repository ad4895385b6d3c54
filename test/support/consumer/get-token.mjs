// A plain JavaScript ESM program of an application that installed
// @tokenbus/client with npm (test/InstallFromTarballs.test.ts runs it from a
// scratch project outside the workspace). It gets a token through the
// Promise API and prints, as one JSON line, the token's version, a SHA-256
// of the access token (never the token itself), where the packages resolved
// and what the `@tokenbus/nats/testing` entry exports.
import { TokenbusClient } from "@tokenbus/client"
import { createHash } from "node:crypto"

const [servers, prefix, provider] = process.argv.slice(2)

const client = await TokenbusClient.connect({ nats: { servers: [servers] }, prefix })
try {
  const token = await client.getToken(provider)
  const accessToken = await client.accessToken(provider)
  console.log(JSON.stringify({
    version: token.version,
    sha256: createHash("sha256").update(accessToken).digest("hex"),
    resolved: ["@tokenbus/client", "@tokenbus/core", "@tokenbus/nats", "@tokenbus/nats/testing"].map((name) =>
      import.meta.resolve(name)
    ),
    testingExports: Object.keys(await import("@tokenbus/nats/testing")).sort()
  }))
} finally {
  await client.close()
}
