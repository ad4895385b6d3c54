// From install to a working call: `npm install @tokenbus/client effect`, then
import { TokenbusClient } from "@tokenbus/client"

const tokens = await TokenbusClient.connect({ nats: { servers: ["nats://127.0.0.1:4222"] } })
const response = await tokens.fetch("project44", "https://na12.api.project44.com/api/v4/capacityproviders/accounts")
console.log(response.status, await response.json())
await tokens.close()
