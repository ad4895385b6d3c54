/**
 * The Effect scheduler a replica joins and leads on: every fiber's scheduled
 * work goes to one queue, run in slices of a few milliseconds, each slice one
 * macrotask. Effect's default gives each fiber its own dispatcher and
 * `setImmediate`, and Node runs every immediate queued before the check phase
 * in one go: a replica handed thousands of providers at once did seconds of
 * takeover work without once reading its socket or firing a timer, so its
 * own member lease ran out before the renewal could be sent. Slices keep
 * timers and I/O (a lease renewal's reply among them) flowing between them,
 * however much work is queued; work does not get cheaper, only interleaved.
 * A single task longer than a slice still holds the loop for its length.
 */
import { Effect, type Fiber, Scheduler } from "effect"

type Task = () => void

/** How long one slice runs queued work before it gives the event loop back. */
export const defaultSliceMillis = 10

/**
 * Runs `effect`, and every fiber it forks, on the process's time-sliced scheduler, in place of Effect's
 * default one. One for the process, as there is one event loop: replicas sharing a process (tests, `tokenbus
 * dev`) take turns in one queue, in the order their work came. A scheduler the caller installed is kept:
 * TestClock's, which tracks the fibers its `adjust` wakes.
 */
export const timeSliced = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const current = yield* Scheduler.Scheduler
    return yield* (current instanceof Scheduler.MixedScheduler
      ? Effect.provideService(effect, Scheduler.Scheduler, processScheduler)
      : effect)
  })

export class TimeSlicedScheduler implements Scheduler.Scheduler {
  readonly executionMode = "async" as const
  private readonly yielding = new Scheduler.MixedScheduler()
  private readonly dispatcher: SlicedDispatcher

  constructor(sliceMillis: number = defaultSliceMillis) {
    this.dispatcher = new SlicedDispatcher(sliceMillis)
  }

  /** When a running fiber yields: Effect's own operation budget. */
  shouldYield(fiber: Fiber.Fiber<unknown, unknown>): boolean {
    return this.yielding.shouldYield(fiber)
  }

  /** One dispatcher for every fiber: the slices bound the work of all of them together. */
  makeDispatcher(): Scheduler.SchedulerDispatcher {
    return this.dispatcher
  }
}

/**
 * Tasks by priority, first in, first out within one: strictly the lowest number first, the order Effect's
 * own dispatcher runs a batch in. Effect schedules everything at 0 unless asked (`yieldNowWith`).
 */
class SlicedDispatcher implements Scheduler.SchedulerDispatcher {
  private readonly queues = new Map<number, TaskQueue>()
  private priorities: Array<number> = []
  private scheduled = false
  private readonly sliceMillis: number

  constructor(sliceMillis: number) {
    this.sliceMillis = sliceMillis
  }

  scheduleTask(task: Task, priority: number): void {
    let queue = this.queues.get(priority)
    if (queue === undefined) {
      queue = new TaskQueue()
      this.queues.set(priority, queue)
      this.priorities = [...this.queues.keys()].sort((a, b) => a - b)
    }
    queue.push(task)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.runSlice)
    }
  }

  /** Runs everything queued, slices or not: for a caller that must not return with work pending. */
  flush(): void {
    while (this.runNext()) {
      // each call runs one task
    }
  }

  private readonly runSlice = (): void => {
    this.scheduled = false
    const until = performance.now() + this.sliceMillis
    try {
      while (performance.now() < until && this.runNext()) {
        // each call runs one task
      }
    } finally {
      // Also after a task that threw: the rest of the queue still runs.
      if (!this.scheduled && this.pending()) {
        this.scheduled = true
        setImmediate(this.runSlice)
      }
    }
  }

  /** Runs the first task of the most urgent priority; false if none is queued. */
  private runNext(): boolean {
    for (const priority of this.priorities) {
      const task = this.queues.get(priority)?.shift()
      if (task !== undefined) {
        task()
        return true
      }
    }
    return false
  }

  private pending(): boolean {
    return this.priorities.some((priority) => (this.queues.get(priority)?.size ?? 0) > 0)
  }
}

/** A FIFO whose `shift` does not copy: a start can queue thousands of tasks at once. */
class TaskQueue {
  private tasks: Array<Task | undefined> = []
  private head = 0

  get size(): number {
    return this.tasks.length - this.head
  }

  push(task: Task): void {
    this.tasks.push(task)
  }

  shift(): Task | undefined {
    if (this.head >= this.tasks.length) return undefined
    const task = this.tasks[this.head]
    this.tasks[this.head++] = undefined
    if (this.head === this.tasks.length) {
      this.tasks = []
      this.head = 0
    }
    return task
  }
}

const processScheduler = new TimeSlicedScheduler()
