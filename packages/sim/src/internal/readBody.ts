/**
 * Reads a whole request body as UTF-8 text. Request bodies sent to the
 * simulated upstream are tiny forms or JSON documents, so buffering is fine.
 */
import type { IncomingMessage } from "node:http"

export const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })
