// axios (`npm install axios`): interceptors on an instance; the call returns a function that removes them.
import type { TokenbusClient } from "@tokenbus/client"
import { axiosInterceptors } from "@tokenbus/client/axios"
import axios from "axios"

export const withAxios = async (tokens: TokenbusClient, shipment: object) => {
  const project44 = axios.create({ baseURL: "https://na12.api.project44.com" })
  const remove = axiosInterceptors(project44, tokens, "project44")
  const accounts = await project44.get("/api/v4/capacityproviders/accounts")
  await project44.post("/api/v4/shipments", shipment, { tokenbus: { retryNonIdempotent: true } })
  remove()
  return accounts.data
}
