/**
 * Which code was measured: the commit, and how many files differed from it
 * (figures from a working tree with uncommitted changes say so).
 */
import { execFileSync } from "node:child_process"

export interface CodeVersion {
  readonly commit: string
  readonly uncommittedFiles: number
}

const git = (...args: Array<string>): string => execFileSync("git", args, { encoding: "utf8" }).trim()

export const describeCode = (): CodeVersion => {
  try {
    const status = git("status", "--porcelain", "--untracked-files=no")
    return { commit: git("rev-parse", "--short", "HEAD"), uncommittedFiles: status === "" ? 0 : status.split("\n").length }
  } catch {
    return { commit: "unknown", uncommittedFiles: 0 }
  }
}

export const codeLine = (code: CodeVersion): string =>
  `commit ${code.commit}${code.uncommittedFiles > 0 ? ` + ${code.uncommittedFiles} uncommitted files` : ""}`
