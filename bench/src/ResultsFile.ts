/**
 * The run's figures as JSON in `bench-results/<timestamp>.json` (git-ignored):
 * the same rows as the table, plus every round's raw figures, the machine
 * and the settings, so runs can be compared later.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"

/** Writes `results` and returns the file's path. */
export const writeResults = async (dir: string, startedAt: Date, results: unknown): Promise<string> => {
  await mkdir(dir, { recursive: true })
  const path = resolve(join(dir, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`))
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`)
  return path
}
