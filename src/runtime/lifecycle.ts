/**
 * A live job's lifecycle in the embedded backend: explicit states and the transitions allowed
 * between them (docs/runtime.md, "Job lifecycle"). The stored `JobStatus` is coarser: `queued`
 * covers queued and assigned, `running` covers running and finishing.
 *
 * ```
 *            ┌──────────── hand back / yield ────────────┐
 *            ▼                                           │
 * (submit) queued ──► assigned ──► running ──► finishing ──► ended
 *            │           │                       ▲   │
 *            │           ├─ cancel ──────────────┤   └──► parked (left queued in the store
 *            └─ cancel ──┼───────────────────────┘            for the next start)
 *                        └─ close ─────────────────────────► parked
 * ```
 */
import type { Logger } from 'pino';
import type { JobStatus } from '../contract/events.js';
import type { JobLog } from './event-log.js';
import type { StoredJob } from './store/types.js';

export type LiveState =
  /** Waits in the fair queue. */
  | 'queued'
  /** In a worker task, not started: the worker may still skip it or hand it back. */
  | 'assigned'
  /** The worker started it. */
  | 'running'
  /** Its run is over (or it was cancelled before it ran): the end is being decided and stored. */
  | 'finishing'
  /** Ended in the store; the job has left the live map. */
  | 'ended'
  /** Left queued in the store for the next start (shutdown); the job has left the scheduler. */
  | 'parked';

const ALLOWED: Readonly<Record<LiveState, readonly LiveState[]>> = {
  queued: ['assigned', 'finishing'],
  assigned: ['running', 'queued', 'finishing', 'parked'],
  running: ['finishing'],
  finishing: ['ended', 'parked'],
  ended: [],
  parked: [],
};

/** Why a job was asked to stop. A cancel is never downgraded to a requeue. */
export type StopReason = 'cancel' | 'requeue';

/** A job while this process holds it (queued, in a worker, or being ended). */
export interface LiveJob<Task = unknown> {
  readonly id: string;
  readonly job: StoredJob;
  readonly lane: string;
  readonly log: JobLog;
  readonly logger: Logger;
  /** The most records the run can make (engine estimate). */
  readonly maxRecords: number;
  /** Estimated work (engine estimate), which decides whether the job may share a task. */
  readonly flops: number;
  state: LiveState;
  stop: StopReason | null;
  /** The task carrying the job while it is assigned or running, else null; `slot` is its index there. */
  task: Task | null;
  slot: number;
  /** Settles when a dispatched job has been finalized or has come back to the queue. */
  settled: Promise<void> | null;
  settle: (() => void) | null;
  /** 'summary': the end stores the summary and a compact trace, not the series (SubmitOptions.keep). */
  keep?: 'series' | 'summary';
  /** Stop after this many steps (a recomputation of a run that was stopped there, recompute.ts). */
  stopAfterStep?: number;
  /**
   * Set on a recomputation: the run only rebuilds an ended job's series, so its start and end go to
   * these hooks instead of the store (recompute.ts).
   */
  recompute?: { started(): void; over(outcome: import('./finalization.js').RunOutcome): void };
}

export class IllegalTransition extends Error {
  constructor(id: string, from: LiveState, to: LiveState) {
    super(`job ${id}: no transition from ${from} to ${to}`);
    this.name = 'IllegalTransition';
  }
}

export function canMove(from: LiveState, to: LiveState): boolean {
  return ALLOWED[from].includes(to);
}

/** Moves the job to `to`, or throws: an illegal transition is a bug in the runtime, never a client error. */
export function moveTo(live: LiveJob, to: LiveState): void {
  if (!canMove(live.state, to)) throw new IllegalTransition(live.id, live.state, to);
  live.state = to;
}

/** Records a stop request; a cancel stays a cancel whatever comes after it. */
export function requestStopReason(live: LiveJob, why: StopReason): void {
  if (live.stop !== 'cancel') live.stop = why;
}

/** Jobs by stored status, kept in step with every status change this process makes. */
export class StatusCounts {
  private readonly counts: Record<JobStatus, number> = {
    queued: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
  };

  load(counts: Record<JobStatus, number>): void {
    Object.assign(this.counts, counts);
  }

  /** A job left `from` (null: it is new) for `to` (null: it is gone). */
  move(from: JobStatus | null, to: JobStatus | null): void {
    if (from !== null) this.counts[from]--;
    if (to !== null) this.counts[to]++;
  }

  get(status: JobStatus): number {
    return this.counts[status];
  }

  snapshot(): Record<JobStatus, number> {
    return { ...this.counts };
  }
}
