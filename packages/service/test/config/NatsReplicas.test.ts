// `nats.replicas` in the configuration file: optional (the buckets then get
// the server's default), and when given a whole number from 1 to 5, the most
// copies JetStream keeps of a stream. A bad value stops start-up with a
// message naming the field.
import { assert, describe, it } from "@effect/vitest"
import { Exit, Schema } from "effect"
import { ServiceConfigSchema } from "../../src/config/ServiceConfig.ts"

const decode = Schema.decodeUnknownExit(ServiceConfigSchema)

const file = (nats: Record<string, unknown>) => ({
  nats: { servers: ["nats://127.0.0.1:4222"], ...nats },
  providers: [{
    id: "project44",
    kind: "oauth2-client-credentials",
    tokenUrl: "https://na12.api.project44.com/api/v4/oauth2/token",
    clientId: "acme-client",
    clientSecret: { env: "P44_CLIENT_SECRET" },
    clientAuth: "basic"
  }]
})

describe("nats.replicas", () => {
  it("is absent unless given, and kept as given from 1 to 5", () => {
    const absent = decode(file({}))
    assert.isTrue(Exit.isSuccess(absent) && absent.value.nats.replicas === undefined)
    for (const replicas of [1, 3, 5]) {
      const given = decode(file({ replicas }))
      assert.isTrue(Exit.isSuccess(given) && given.value.nats.replicas === replicas)
    }
  })

  it("refuses 0, 6, fractions and strings, naming the field", () => {
    for (const replicas of [0, 6, 2.5, "3"]) {
      const refused = decode(file({ replicas }))
      assert.isTrue(Exit.isFailure(refused), `accepted ${JSON.stringify(replicas)}`)
      assert.include(String(Exit.isFailure(refused) ? refused.cause : ""), "replicas")
    }
  })
})
