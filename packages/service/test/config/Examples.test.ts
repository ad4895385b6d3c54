// The configuration files in examples/ are documentation: they must stay valid.
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { ServiceConfigSchema } from "../../src/config/ServiceConfig.ts"

const examples = join(import.meta.dirname, "../../../../examples")
const decode = Schema.decodeUnknownSync(Schema.fromJsonString(ServiceConfigSchema))

describe("examples/", () => {
  const files = readdirSync(examples).filter((file) => file.endsWith(".json"))

  it("has an example of every provider kind", () => {
    const kinds = new Set(files.flatMap((file) => decode(readFileSync(join(examples, file), "utf8")).providers.map((p) => p.kind)))
    expect([...kinds].sort()).toEqual(["itempath", "oauth2-client-credentials", "oauth2-refresh-token", "static"])
  })

  for (const file of files) {
    it(`${file} is a valid configuration`, () => {
      expect(() => decode(readFileSync(join(examples, file), "utf8"))).not.toThrow()
    })
  }
})
