/**
 * CLOCK_MONOTONIC in microseconds: the clock of V8 CPU profiles, shared by
 * every process of the machine, so a window measured here selects the same
 * samples in a replica's profile (bin/profile-top.ts --from --to).
 */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n)
