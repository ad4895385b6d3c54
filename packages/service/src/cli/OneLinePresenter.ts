/**
 * How the `tokenbus` command answers a command line it cannot parse: one
 * line on stderr, in the CLI's own words of what is wrong and then what the
 * command takes, instead of its whole help page, which in a container's log
 * buries the line that matters. Help that was asked for, and the version,
 * are shown as usual.
 */
import { Console, Effect } from "effect"
import { CliOutput, type HelpDoc } from "effect/cli"

/** A CLI message on one line: "Did you mean this?" and its suggestions become a parenthesis. */
const oneLine = (message: string): string => {
  const [first = "", ...rest] = message.split("\n").map((line) => line.trim()).filter((line) => line !== "")
  const suggestions = rest.filter((line) => line !== "Did you mean this?")
  return suggestions.length === 0 ? first : `${first} (did you mean ${suggestions.join(" or ")}?)`
}

const flagUsage = (flag: HelpDoc.FlagDoc): string =>
  [`--${flag.name}`, ...flag.aliases].join(", ") + (flag.type === "boolean" ? "" : ` <${flag.type}>`)

/** What the command takes: its subcommands, arguments and flags, as its help page lists them. */
const takes = (help: HelpDoc.HelpDoc): string => {
  const commands = (help.subcommands ?? []).flatMap((group) => group.commands.map((command) => command.name))
  const parts = [
    ...(commands.length === 0 ? [] : [`a command (${commands.join(", ")})`]),
    ...(help.args ?? []).map((arg) => `<${arg.name}>`),
    ...help.flags.map(flagUsage)
  ]
  return parts.length === 0 ? "no arguments" : parts.join("; ")
}

export const oneLinePresenter = CliOutput.layerPresenter({
  present: (event) => {
    if (event._tag !== "InvalidInvocation") return CliOutput.defaultPresenter.present(event)
    const command = event.commandPath.join(" ")
    const problems = event.errors.map((error) => oneLine(error.message)).join("; ")
    return Console.error(`${command}: ${problems}. ${command} takes ${takes(event.helpDoc)}`).pipe(Effect.asVoid)
  }
})
