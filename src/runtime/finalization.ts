/**
 * Finalization: how a job's run turns into its end (docs/runtime.md, "Job lifecycle"), and the end
 * itself: the done event, the store write of the row and the series together, retention, the log
 * line, and the end listeners (sweeps, metrics). Backend-neutral: the embedded service uses it, and
 * a distributed backend ends its jobs through the same `decideEnd` and `Finalizer` over its own
 * store.
 */
import type { Logger } from 'pino';
import type { DoneEvent, EndStatus, Summary } from '../contract/events.js';
import { JobLog } from './event-log.js';
import type { StatusCounts, StopReason } from './lifecycle.js';
import type { EndedLogCache } from './log-cache.js';
import { storedRecord } from './records.js';
import type { JobStore, StoredJob } from './store/types.js';
import { Telemetry } from './telemetry.js';
import { compactTrace } from './trace.js';
import type { JobRecord } from './types.js';

/** What a worker reports when a started job's run is over. */
export type RunOutcome =
  | { ok: true; result: { status: 'completed' | 'stopped'; summary: Summary } }
  | { ok: false; error: unknown };

export type EndDecision =
  /** Back to queued in the store, to run again on the next start. */
  { kind: 'hand-back' } | { kind: 'end'; status: EndStatus; summary: Summary | null; error: string | null };

/**
 * The end a run's outcome makes, given why it was asked to stop. A run that completed before it
 * saw the stop flag simply ends: its result stands.
 */
export function decideEnd(outcome: RunOutcome, stop: StopReason | null): EndDecision {
  if (stop === 'requeue' && !(outcome.ok && outcome.result.status === 'completed')) return { kind: 'hand-back' };
  if (outcome.ok) {
    const cancelled = outcome.result.status === 'stopped' && stop === 'cancel';
    return { kind: 'end', status: cancelled ? 'cancelled' : 'succeeded', summary: outcome.result.summary, error: null };
  }
  if (stop === 'cancel') return { kind: 'end', status: 'cancelled', summary: null, error: null };
  return { kind: 'end', status: 'failed', summary: null, error: describeFailure(outcome.error) };
}

export function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_WORKER_OUT_OF_MEMORY') return `the worker ran out of memory: ${error.message}`;
    return error.message || error.name;
  }
  return String(error);
}

export interface FinalizerDeps {
  store: JobStore;
  counts: StatusCounts;
  /** Keeps ended jobs' logs for late readers. */
  endedLogs: EndedLogCache;
  /** Runs after each end, before done goes out. */
  retention: { schedule(): Promise<void> };
  log: Logger;
  /** The job leaves the backend's live set; called before done reaches subscribers. */
  forget(id: string): void;
  /** The job's end was stored with `seriesBytes` of series (null: the write failed); for storage budgets. */
  stored?(job: StoredJob, seriesBytes: number | null): void;
}

export class Finalizer {
  private readonly listeners = new Set<(job: JobRecord) => void>();

  constructor(private readonly deps: FinalizerDeps) {}

  /** Calls `listener` with the final record each time a job ends; returns the unsubscribe function. */
  onJobEnd(listener: (job: JobRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Ends a queued or running job: stores it with its series, then sends done. A failed store write
   * is logged, not thrown: the events still reach subscribers, and the store keeps the job
   * unfinished, so a restart runs it again.
   */
  async end(
    job: StoredJob,
    log: JobLog,
    logger: Logger,
    status: EndStatus,
    summary: Summary | null,
    error: string | null,
    keep: 'series' | 'summary' = 'series',
  ): Promise<void> {
    const { store, counts, endedLogs } = this.deps;
    const done: DoneEvent = {
      type: 'done',
      seq: log.eventsBeforeDone(),
      status,
      summary,
      ...(error !== null ? { error } : {}),
    };
    counts.move(job.status, status);
    job.status = status;
    job.endedAt = new Date().toISOString();
    job.step = summary?.stepsRun ?? log.telemetry.lastStep();
    job.summary = summary;
    job.error = error;
    job.lastSeq = done.seq;
    // A summary-only end stores no series (an empty one): reads recompute it on demand (recompute.ts).
    const summaryOnly = keep === 'summary' && summary !== null;
    const trace = summaryOnly ? compactTrace(log.telemetry, log.nonFinite) : null;
    const blob = summaryOnly ? Telemetry.empty().toBlob() : log.telemetry.toBlob();
    try {
      await store.finish(job, { series: blob, nonFinite: log.nonFinite, done });
      this.deps.stored?.(job, blob.steps.byteLength + blob.values.byteLength + blob.hidden.byteLength);
      if (!summaryOnly) endedLogs.put(job.id, new JobLog(log.telemetry, log.nonFinite, done));
    } catch (err) {
      this.deps.stored?.(job, null);
      logger.error({ err }, 'could not store the end of a job');
    }
    // Retention runs before done goes out: whoever saw done sees the store as retention left it.
    await this.deps.retention.schedule();
    log.done = done;
    // Subscribers keep the log; the backend lets go so an ended job costs nothing there.
    this.deps.forget(job.id);
    log.notify();
    // A sweep's cells end by the thousand: the sweep logs its own start and end at info, its cells at debug.
    const level = job.sweepId === null || status === 'failed' ? 'info' : 'debug';
    logger[level]({ status, outcome: summary?.outcome, error }, 'job ended');
    const record: JobRecord = summaryOnly ? { ...storedRecord(job), trace } : storedRecord(job);
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch (err) {
        this.deps.log.error({ err }, 'job end listener threw');
      }
    }
  }

  /** A started job goes back to queued in the store, to run again on the next start. */
  async handBack(job: StoredJob, logger: Logger): Promise<void> {
    this.deps.counts.move(job.status, 'queued');
    job.status = 'queued';
    job.startedAt = null;
    await this.deps.store.setRunning(job.id, null);
    logger.info('job handed back to the queue for the next start');
  }
}
