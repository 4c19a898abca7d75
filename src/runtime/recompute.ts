/**
 * Series on demand (docs/runtime.md, "Series on demand"): an ended job whose series is not stored
 * (a sweep cell kept as a summary, docs/sweeps.md) gets it back by running its spec again. The
 * engine is deterministic (same spec ⇒ same bits), so the recomputed series is the one a full run
 * would have stored. The run goes through the scheduler like any job, in its own lane of the fair
 * queue (a turn like any other lane, never ahead of everyone), and its log goes into the ended-log
 * cache (bounded by bytes, least recently used go first).
 */
import { estimateWork } from '../engine/index.js';
import { errors } from '../errors.js';
import { JobLog } from './event-log.js';
import type { RunOutcome } from './finalization.js';
import { moveTo } from './lifecycle.js';
import type { EndedLogCache } from './log-cache.js';
import type { ScheduledJob } from './scheduler.js';
import type { StoredJob, StoredResult } from './store/types.js';

/** The fair-queue lane recomputations wait in. */
export const RECOMPUTE_LANE = 'recompute';

/** True when an ended job's stored result lacks the series its run made (and its spec can make it again). */
export function seriesAbsent(job: StoredJob, stored: StoredResult): boolean {
  return stored.series.length === 0 && job.summary !== null && job.summary.stepsRun > 0;
}

export interface RecomputeDeps {
  /** Queues a run in the scheduler. */
  submit(live: ScheduledJob): void;
  endedLogs: EndedLogCache;
  logger: import('pino').Logger;
}

export class SeriesRecomputer {
  private readonly pending = new Map<string, { promise: Promise<JobLog>; reject(err: Error): void }>();
  private closed = false;
  /** Runs started since the process started (for tests and metrics). */
  runs = 0;

  constructor(private readonly deps: RecomputeDeps) {}

  /** The job's log with its series recomputed; concurrent callers share one run. */
  log(job: StoredJob, stored: StoredResult): Promise<JobLog> {
    const cached = this.deps.endedLogs.get(job.id);
    if (cached && cached.telemetry.length > 0) return Promise.resolve(cached);
    const running = this.pending.get(job.id);
    if (running) return running.promise;
    if (this.closed) return Promise.reject(new errors.DRAINING());
    let reject!: (err: Error) => void;
    let resolve!: (log: JobLog) => void;
    const promise = new Promise<JobLog>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.pending.set(job.id, { promise, reject });
    const finish = () => this.pending.delete(job.id);
    promise.then(finish, finish);
    const work = estimateWork(job.spec);
    const log = new JobLog();
    // A run that was stopped (cancelled while it ran) is stopped at the same step again.
    const stopAfter = job.summary && job.summary.stepsRun < job.spec.training.steps ? job.summary.stepsRun : undefined;
    const live: ScheduledJob = {
      id: `${job.id}~recompute`,
      job,
      lane: RECOMPUTE_LANE,
      log,
      logger: this.deps.logger.child({ jobId: job.id, recompute: true }),
      maxRecords: work.records,
      flops: work.flops,
      state: 'queued',
      stop: null,
      task: null,
      slot: 0,
      settled: null,
      settle: null,
      ...(stopAfter !== undefined ? { stopAfterStep: stopAfter } : {}),
      recompute: {
        started: () => {},
        over: (outcome: RunOutcome) => {
          moveTo(live, 'ended');
          if (!outcome.ok) {
            reject(outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error)));
            return;
          }
          if (live.stop !== null) {
            reject(new errors.DRAINING());
            return;
          }
          const rebuilt = new JobLog(log.telemetry, log.nonFinite, stored.done);
          this.deps.endedLogs.put(job.id, rebuilt);
          live.logger.debug({ records: log.telemetry.length }, 'series recomputed');
          resolve(rebuilt);
        },
      },
    };
    this.runs++;
    this.deps.submit(live);
    return promise;
  }

  /** Recomputations still waiting fail with DRAINING (the scheduler no longer runs them). */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new errors.DRAINING());
  }
}
