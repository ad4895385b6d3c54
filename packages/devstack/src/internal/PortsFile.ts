/**
 * The ports a nats-server started with `-p -1 -m -1` really listens on. With
 * `--ports_file_dir` the server writes them, once it listens, to
 * `<dir>/nats-server_<pid>.ports` as
 * `{"nats":["nats://127.0.0.1:4222"],"monitoring":["http://127.0.0.1:8222"]}`.
 * Letting the server pick its own ports leaves no gap in which another
 * process could take a port we picked for it.
 */
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Schedule, Schema } from "effect"
import { NatsServerError } from "../NatsServerError.ts"

const PortsJson = Schema.fromJsonString(Schema.Struct({
  nats: Schema.NonEmptyArray(Schema.String),
  monitoring: Schema.NonEmptyArray(Schema.String)
}))

export interface ListeningPorts {
  readonly port: number
  readonly monitorPort: number
}

const portOf = (url: string): number => Number(new URL(url).port)

const unreadable = (cause: unknown) => new NatsServerError({ message: `cannot read the server's ports file: ${cause}` })

const readOnce = (dir: string, pid: number) =>
  Effect.tryPromise({ try: () => readdir(dir), catch: unreadable }).pipe(
    Effect.map((entries) => entries.find((entry) => entry.endsWith(`_${pid}.ports`))),
    Effect.flatMap((name) =>
      name === undefined
        ? Effect.fail(unreadable(`no ports file in ${dir} yet`))
        : Effect.tryPromise({ try: () => readFile(join(dir, name), "utf8"), catch: unreadable })
    ),
    Effect.flatMap((text) =>
      Schema.decodeUnknownEffect(PortsJson)(text).pipe(
        Effect.mapError((error) => new NatsServerError({ message: `bad ports file: ${error.message}` }))
      )
    ),
    Effect.map((ports) => ({ port: portOf(ports.nats[0]), monitorPort: portOf(ports.monitoring[0]) }))
  )

/** Reads the ports file, retrying briefly: it may be written a moment after the server says it is ready. */
export const readPortsFile = (dir: string, pid: number): Effect.Effect<ListeningPorts, NatsServerError> =>
  readOnce(dir, pid).pipe(Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 40 }))
