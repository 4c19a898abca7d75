/**
 * The embedded job service: the JobService the routes call, composed of the runtime's roles
 * (docs/runtime.md, "Inside the embedded backend"):
 *
 * - admission (admission.ts): spec checks, budgets, queue room — shared with a distributed backend;
 * - scheduling and the worker protocol (scheduler.ts): fair queue, tasks, the piscina pool;
 * - finalization (finalization.ts): from a run's outcome to the stored end, done, end listeners —
 *   shared with a distributed backend;
 * - retention (retention.ts) and reads (reads.ts).
 *
 * This class holds the live set, each job's lifecycle state (lifecycle.ts) and the service's own
 * phase (open, draining, closed), and wires the roles together.
 */
import type { Logger } from 'pino';
import type { Piscina } from 'piscina';
import type { EndStatus, JobStatus, Summary } from '../contract/events.js';
import type { JobSpec } from '../contract/spec.js';
import { estimateWork } from '../engine/index.js';
import { fmaAvailable } from '../engine/wasm/index.js';
import { errors } from '../errors.js';
import { Admission } from './admission.js';
import type { RuntimeConfig } from './config.js';
import { JobLog } from './event-log.js';
import { decideEnd, Finalizer, type RunOutcome } from './finalization.js';
import { moveTo, StatusCounts } from './lifecycle.js';
import { EndedLogCache } from './log-cache.js';
import { createJobPool } from './pool.js';
import type { WorkerResult, WorkerTask } from './protocol.js';
import { laneKey } from './queue.js';
import { JobReads } from './reads.js';
import { SeriesRecomputer } from './recompute.js';
import { liveRecord, visible } from './records.js';
import { Retention } from './retention.js';
import { type ScheduledJob, type SchedulerHost, TaskScheduler } from './scheduler.js';
import { defaultLimits, isDiskFull, ROW_OVERHEAD_BYTES, StorageBudget } from './storage.js';
import { ENDED, type JobStore, type StoredJob } from './store/types.js';
import type {
  JobRecord,
  JobResult,
  JobService,
  ListQuery,
  Owner,
  Page,
  RuntimeStats,
  SubmitOptions,
  SubscribeOptions,
  Subscription,
} from './types.js';

const DEFAULT_CANCEL_GRACE_MS = 2000;
const ENDED_CACHE_BYTES = 64 * 2 ** 20;

/** The service's own lifecycle: open → draining (close() called) → closed. */
type Phase = 'open' | 'draining' | 'closed';

export class EmbeddedJobService implements JobService {
  /** Jobs this process holds: queued, in a worker, or being ended. */
  private readonly live = new Map<string, ScheduledJob>();
  private readonly counts = new StatusCounts();
  private readonly endedLogs = new EndedLogCache(ENDED_CACHE_BYTES);
  private readonly admission: Admission;
  private readonly scheduler: TaskScheduler;
  private readonly finalizer: Finalizer;
  private readonly retention: Retention;
  private readonly reads: JobReads;
  private readonly recomputer: SeriesRecomputer;
  private readonly log: Logger;
  private phase: Phase = 'open';
  /** Jobs admitted whose store write is under way: they count against maxQueue. */
  private admitting = 0;
  /** Storage budget and per-key quota (storage.ts); `reservations` holds admitted jobs' bytes until they end. */
  private readonly storage: StorageBudget;
  private readonly reservations = new Map<string, number>();
  private readonly maxQueuePerKey: number;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly config: RuntimeConfig,
    private readonly store: JobStore,
    private readonly pool: Piscina<WorkerTask, WorkerResult>,
  ) {
    this.log = config.logger;
    this.pool.on('error', (err: unknown) => this.log.error({ err }, 'worker pool error'));
    this.admission = new Admission(config);
    this.storage = new StorageBudget(config.storage ?? defaultLimits(config.dataDir));
    this.maxQueuePerKey = config.maxQueuePerKey ?? Math.max(1, Math.ceil((config.maxQueue * 3) / 4));
    this.scheduler = new TaskScheduler(
      pool,
      { workers: config.workers, cancelGraceMs: config.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS },
      {
        started: (live) => this.started(live),
        runOver: (live, outcome) => this.runOver(live, outcome),
        cancelledBeforeStart: (live) =>
          live.recompute
            ? Promise.resolve(live.recompute.over({ ok: false, error: new errors.DRAINING() }))
            : this.end(live, 'cancelled', null, null),
      } satisfies SchedulerHost,
    );
    this.retention = new Retention(
      store,
      config,
      (gone) => {
        for (const job of gone) {
          this.counts.move(job.status, null);
          this.endedLogs.delete(job.id);
        }
        // Space freed: the storage budget learns what the store holds now.
        void this.measureStorage();
      },
      this.log,
    );
    this.finalizer = new Finalizer({
      store,
      counts: this.counts,
      endedLogs: this.endedLogs,
      retention: this.retention,
      log: this.log,
      forget: (id) => {
        const live = this.live.get(id);
        if (!live) return;
        moveTo(live, 'ended');
        this.live.delete(id);
      },
      stored: (job, seriesBytes) => {
        const reserved = this.reservations.get(job.id) ?? 0;
        this.reservations.delete(job.id);
        this.storage.settle(job.owner, reserved, ROW_OVERHEAD_BYTES + (seriesBytes ?? 0));
      },
    });
    this.recomputer = new SeriesRecomputer({
      submit: (live) => this.scheduler.submit(live),
      endedLogs: this.endedLogs,
      logger: this.log,
    });
    this.reads = new JobReads(this.live, store, this.endedLogs, (job, stored) => this.recomputer.log(job, stored));
  }

  /** Starts the service on `store`: resumes what a previous process left unfinished. */
  static async start(config: RuntimeConfig, store: JobStore): Promise<EmbeddedJobService> {
    if (!Number.isInteger(config.workers) || config.workers < 1) throw new RangeError('workers must be an integer ≥ 1');
    if (config.kernels === 'fma' && !fmaAvailable())
      throw new RangeError('kernels fma need WebAssembly relaxed SIMD, which this runtime lacks; use exact');
    const pool = createJobPool(config);
    try {
      const service = new EmbeddedJobService(config, store, pool);
      await service.recover();
      return service;
    } catch (err) {
      await pool.destroy();
      throw err;
    }
  }

  /** Jobs a dead process left queued or running run again, in submission order. */
  private async recover(): Promise<void> {
    this.counts.load(await this.store.countByStatus());
    await this.measureStorage();
    const left = await this.store.unfinished();
    for (const job of left) {
      if (job.status === 'running') {
        await this.store.setRunning(job.id, null);
        this.counts.move('running', 'queued');
        job.status = 'queued';
        job.startedAt = null;
      }
      const live = this.makeLive(job, estimateWork(job.spec));
      this.live.set(job.id, live);
      this.scheduler.restore(live);
    }
    if (left.length > 0) this.log.info({ jobs: left.length }, 'resuming jobs left by the previous run');
    await this.retention.start();
    this.scheduler.dispatch();
  }

  async submit(spec: JobSpec, owner: Owner, options: SubmitOptions = {}): Promise<JobRecord> {
    if (this.phase !== 'open') throw new errors.DRAINING();
    const { job, work } = this.admission.admit(spec, owner, options, {
      waiting: this.scheduler.waiting,
      admitting: this.admitting,
    });
    // One key (its sweeps' cells included) may not take the whole queue from the others.
    const ownWaiting = this.scheduler.waitingFor(owner);
    if (ownWaiting >= this.maxQueuePerKey) throw new errors.QUEUE_FULL(ownWaiting);
    // Nothing is written unless the job's largest possible result fits the storage budget and quota.
    const reservedBytes = work.seriesBytes + ROW_OVERHEAD_BYTES;
    this.storage.admit(owner, reservedBytes);
    this.admitting++;
    try {
      await this.store.insert(job);
    } catch (err) {
      this.storage.settle(owner, reservedBytes, 0);
      if (isDiskFull(err)) throw new errors.STORAGE_FULL('the disk under the job store is full');
      throw err;
    } finally {
      this.admitting--;
    }
    this.reservations.set(job.id, reservedBytes);
    const live = this.makeLive(job, work);
    if (options.keep === 'summary') live.keep = 'summary';
    this.live.set(job.id, live);
    this.counts.move(null, 'queued');
    live.logger.debug('job queued');
    const record = liveRecord(job, live.log);
    this.scheduler.submit(live);
    return record;
  }

  get(id: string, owner: Owner): Promise<JobRecord | null> {
    return this.reads.get(id, owner);
  }

  list(query: ListQuery): Promise<Page<JobRecord>> {
    return this.reads.list(query);
  }

  result(id: string, owner: Owner): Promise<JobResult | null> {
    return this.reads.result(id, owner);
  }

  subscribe(id: string, owner: Owner, options: SubscribeOptions): Promise<Subscription | null> {
    return this.reads.subscribe(id, owner, options);
  }

  async cancel(id: string, owner: Owner): Promise<JobRecord> {
    const live = this.live.get(id);
    if (!live) {
      const job = await this.store.get(id);
      if (!job || !visible(job, owner)) throw new errors.JOB_NOT_FOUND(id);
      throw new errors.JOB_ENDED(id, job.status);
    }
    if (!visible(live.job, owner)) throw new errors.JOB_NOT_FOUND(id);
    if (live.log.done || ENDED.includes(live.job.status)) throw new errors.JOB_ENDED(id, live.job.status);
    if (live.state === 'queued' && this.scheduler.withdraw(live)) {
      moveTo(live, 'finishing');
      await this.end(live, 'cancelled', null, null);
      return liveRecord(live.job, live.log);
    }
    this.scheduler.stop(live, 'cancel');
    await live.settled;
    return live.log.done
      ? liveRecord(live.job, live.log)
      : ((await this.get(id, owner)) ?? liveRecord(live.job, live.log));
  }

  stats(): RuntimeStats {
    return {
      queued: this.counts.get('queued'),
      running: this.scheduler.runningCount,
      byStatus: this.counts.snapshot(),
      stepsComputed: this.scheduler.stepsComputed,
      tasksStarted: this.scheduler.tasksStarted,
      workers: this.config.workers,
    };
  }

  async ready(): Promise<boolean> {
    if (this.phase !== 'open') return false;
    try {
      await this.store.checkWritable();
    } catch (err) {
      this.log.warn({ err }, 'job store is not writable');
      return false;
    }
    return this.scheduler.threads > 0;
  }

  /** Listens for jobs reaching an end state (sweeps, metrics); returns the unsubscribe function. */
  onJobEnd(listener: (job: JobRecord) => void): () => void {
    return this.finalizer.onJobEnd(listener);
  }

  close(options: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutDown(options.graceMs ?? 0);
    return this.closing;
  }

  private async shutDown(graceMs: number): Promise<void> {
    this.phase = 'draining';
    // Running jobs get the grace; the rest stays (or goes back to) queued in the store for the next start.
    await this.scheduler.drain(graceMs);
    this.phase = 'closed';
    this.recomputer.close();
    for (const live of this.live.values()) live.log.endAll();
    await this.retention.stop();
    await this.pool.destroy();
    await this.store.close();
  }

  // The scheduler's host: what a start and an end mean for the store, the counts and the subscribers.

  private started(live: ScheduledJob): void {
    if (live.recompute) {
      live.recompute.started();
      return;
    }
    const { job } = live;
    this.counts.move(job.status, 'running');
    job.status = 'running';
    job.startedAt = new Date().toISOString();
    live.logger.debug('job started');
    // The thread starts at once; the store learns of it meanwhile. Should that write fail, the store
    // still says queued, which a restart treats the same way (the job runs again).
    this.store
      .setRunning(job.id, job.startedAt)
      .catch((err: unknown) => live.logger.error({ err }, 'could not mark the job running in the store'));
  }

  private async runOver(live: ScheduledJob, outcome: RunOutcome): Promise<void> {
    if (live.recompute) {
      live.recompute.over(outcome);
      return;
    }
    try {
      const decision = decideEnd(outcome, live.stop);
      if (decision.kind === 'hand-back') {
        moveTo(live, 'parked');
        await this.finalizer.handBack(live.job, live.logger);
      } else {
        if (decision.status === 'failed' && !outcome.ok) live.logger.warn({ err: outcome.error }, 'job failed');
        await this.end(live, decision.status, decision.summary, decision.error);
      }
    } catch (err) {
      live.logger.error({ err }, 'could not record the end of a job');
    }
    live.log.notify();
  }

  private end(live: ScheduledJob, status: EndStatus, summary: Summary | null, error: string | null): Promise<void> {
    return this.finalizer.end(live.job, live.log, live.logger, status, summary, error, live.keep ?? 'series');
  }

  /** The storage budget's stored figures from the store (at start and after retention deletes). */
  private async measureStorage(): Promise<void> {
    try {
      if (this.store.usageByOwner) this.storage.reset(await this.store.usageByOwner());
    } catch (err) {
      this.log.error({ err }, 'could not measure the store');
    }
  }

  private makeLive(job: StoredJob, work: { records: number; flops: number }): ScheduledJob {
    return {
      id: job.id,
      job,
      lane: laneKey(job.owner, job.sweepId),
      log: new JobLog(),
      logger: this.log.child({ jobId: job.id }),
      maxRecords: work.records,
      flops: work.flops,
      state: 'queued',
      stop: null,
      task: null,
      slot: 0,
      settled: null,
      settle: null,
    };
  }
}

export type { JobStatus };
