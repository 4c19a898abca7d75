/**
 * The embedded job service: fair in-process queue, piscina pool, columnar event logs with
 * fan-out, and a store (SQLite or memory). See docs/runtime.md for the lifecycle and policies.
 */
import { MessageChannel } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Piscina } from 'piscina';
import type { DoneEvent, EndStatus, JobStatus, Summary } from '../contract/events.js';
import type { JobSpec } from '../contract/spec.js';
import { checkSpec, estimateWork, seriesToJson } from '../engine/index.js';
import { errors, type FieldError } from '../errors.js';
import type { RuntimeConfig } from './config.js';
import { JobLog } from './event-log.js';
import { newId } from './ids.js';
import { EndedLogCache } from './log-cache.js';
import { createPool } from './pool.js';
import {
  STOP,
  stopSlot,
  WAITING,
  type WorkerMessage,
  type WorkerResult,
  type WorkerTask,
  YIELD_SLOT,
} from './protocol.js';
import { FairQueue, SINGLE_LANE } from './queue.js';
import { ENDED, emptyCounts, type JobStore, type StoredJob } from './store/types.js';
import { Telemetry } from './telemetry.js';
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

interface LiveJob {
  id: string;
  job: StoredJob;
  lane: string;
  log: JobLog;
  logger: Logger;
  /** The task carrying the job while it sits in a worker (started or not), else null. */
  task: RunningTask | null;
  /** Index of the job in its task. */
  slot: number;
  /** The worker reported the job's start. */
  started: boolean;
  cancelRequested: boolean;
  /** close() is handing the job back to the queue for the next start. */
  requeue: boolean;
  /** Settles when a dispatched job has been finalized or has come back to the queue. */
  settled: Promise<void> | null;
  settle: (() => void) | null;
  /** The most records the run can make (engine estimate). */
  maxRecords: number;
  /** Estimated work (engine estimate), which decides whether the job may share a task. */
  flops: number;
}

/** A task in a worker: jobs run one after another; see protocol.ts. */
interface RunningTask {
  jobs: LiveJob[];
  flags: Int32Array;
  abort: AbortController;
  /** Jobs of the task not yet finalized (ended, failed, skipped or handed back). */
  open: Set<LiveJob>;
  /** Finalizations in progress (store writes), awaited before the task counts as done. */
  finishing: Promise<void>[];
}

/**
 * Small jobs share a task: a worker then goes from one to the next without waiting for the main
 * thread, and the pool's per-task cost is paid once. A job is small when its estimated work is at
 * most SMALL_JOB_FLOPS (≈ 15 ms of engine time; W1 is 2.9e7); a task takes at most
 * MAX_TASK_JOBS jobs and TASK_FLOPS of work, and never more than its share of the queue, so
 * both workers stay busy to the end. A task hands back its unstarted jobs as soon as another lane
 * gets work, so batching never delays a single job behind a sweep (docs/runtime.md).
 */
const SMALL_JOB_FLOPS = 1e8;
const TASK_FLOPS = 2e8;
const MAX_TASK_JOBS = 64;
/** After a task settles, how long its port may take to deliver the last messages (a safety net). */
const PORT_DRAIN_MS = 2000;

type RunOutcome =
  | { ok: true; result: { status: 'completed' | 'stopped'; summary: Summary } }
  | { ok: false; error: unknown };

const DEFAULT_CANCEL_GRACE_MS = 2000;
const ENDED_CACHE_BYTES = 64 * 2 ** 20;
const RETENTION_SWEEP_MS = 60_000;

export class EmbeddedJobService implements JobService {
  private readonly live = new Map<string, LiveJob>();
  private readonly queue = new FairQueue<LiveJob>();
  /** Jobs that have started and not ended. */
  private readonly running = new Set<LiveJob>();
  /** Jobs handed to a worker (in a task, started or not) and not yet finalized. */
  private readonly dispatched = new Set<LiveJob>();
  private readonly tasks = new Set<RunningTask>();
  private readonly counts = emptyCounts();
  private readonly endedLogs = new EndedLogCache(ENDED_CACHE_BYTES);
  private readonly endListeners = new Set<(job: JobRecord) => void>();
  private readonly pool: Piscina<WorkerTask, WorkerResult>;
  private readonly log: Logger;
  private readonly cancelGraceMs: number;
  private reserved = 0;
  private stepsComputed = 0;
  private tasksStarted = 0;
  private draining = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private retentionChain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly config: RuntimeConfig,
    private readonly store: JobStore,
  ) {
    this.log = config.logger;
    this.cancelGraceMs = config.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
    this.pool = createPool({
      workers: config.workers,
      workerMaxOldGenMb: config.workerMaxOldGenMb,
      workerFile: config.workerFile,
    });
    this.pool.on('error', (err: unknown) => this.log.error({ err }, 'worker pool error'));
  }

  static async start(config: RuntimeConfig, store: JobStore): Promise<EmbeddedJobService> {
    if (!Number.isInteger(config.workers) || config.workers < 1) throw new RangeError('workers must be an integer ≥ 1');
    const service = new EmbeddedJobService(config, store);
    await service.recover();
    return service;
  }

  /** Jobs a dead process left queued or running run again, in submission order. */
  private async recover(): Promise<void> {
    Object.assign(this.counts, await this.store.countByStatus());
    const left = await this.store.unfinished();
    for (const job of left) {
      if (job.status === 'running') {
        await this.store.setRunning(job.id, null);
        this.counts.running--;
        this.counts.queued++;
        job.status = 'queued';
        job.startedAt = null;
      }
      const live = this.makeLive(job);
      this.live.set(job.id, live);
      this.queue.push(live, live.lane);
    }
    if (left.length > 0) this.log.info({ jobs: left.length }, 'resuming jobs left by the previous run');
    await this.enforceRetention();
    const ttl = this.config.jobTtlMs;
    if (ttl !== null) {
      this.retentionTimer = setInterval(() => void this.enforceRetention(), Math.min(ttl, RETENTION_SWEEP_MS));
      this.retentionTimer.unref();
    }
    this.dispatch();
  }

  async submit(spec: JobSpec, owner: Owner, options: SubmitOptions = {}): Promise<JobRecord> {
    if (this.draining) throw new errors.DRAINING();
    const issues = checkSpec(spec);
    if (issues.length > 0) {
      const fields: FieldError[] = issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new errors.SPEC_IMPOSSIBLE(fields);
    }
    const work = estimateWork(spec);
    if (work.flops > this.config.maxWorkFlops) {
      const message = `estimated work ${fmt(work.flops)} FLOPs exceeds the limit maxWorkFlops = ${fmt(this.config.maxWorkFlops)} (work ≈ training.steps × FLOPs per step)`;
      throw new errors.OVER_BUDGET([{ path: 'training.steps', message }], message);
    }
    if (work.bytes > this.config.maxJobBytes) {
      const message = `estimated memory ${fmt(work.bytes)} bytes exceeds the limit maxJobBytes = ${fmt(this.config.maxJobBytes)}`;
      throw new errors.OVER_BUDGET([{ path: 'network', message }], message);
    }
    if (this.queue.size + this.reserved >= this.config.maxQueue) throw new errors.QUEUE_FULL(this.queue.size);

    const job: StoredJob = {
      id: newId(),
      name: spec.name ?? null,
      status: 'queued',
      owner,
      sweepId: options.sweepId ?? null,
      spec,
      createdAt: new Date().toISOString(),
      startedAt: null,
      endedAt: null,
      step: 0,
      summary: null,
      error: null,
      lastSeq: -1,
    };
    this.reserved++;
    try {
      await this.store.insert(job);
    } finally {
      this.reserved--;
    }
    const live = this.makeLive(job);
    this.live.set(job.id, live);
    this.counts.queued++;
    this.queue.push(live, live.lane);
    this.yieldTo(live.lane);
    live.logger.debug('job queued');
    const record = this.liveRecord(live);
    this.dispatch();
    return record;
  }

  async get(id: string, owner: Owner): Promise<JobRecord | null> {
    const live = this.live.get(id);
    if (live) return visible(live.job, owner) ? this.liveRecord(live) : null;
    const job = await this.store.get(id);
    return job && visible(job, owner) ? storedRecord(job) : null;
  }

  async list(query: ListQuery): Promise<Page<JobRecord>> {
    const limit = Math.max(1, Math.min(query.limit, 1000));
    const jobs = await this.store.list({
      owner: query.owner,
      status: query.status,
      sweepId: query.sweepId,
      before: query.cursor,
      limit: limit + 1,
    });
    const more = jobs.length > limit;
    const items = jobs.slice(0, limit).map((job) => {
      const live = this.live.get(job.id);
      return live ? this.liveRecord(live) : storedRecord(job);
    });
    return { items, nextCursor: more ? items[items.length - 1].id : null };
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
    if (live.job.status === 'queued' && this.queue.remove(id)) {
      await this.end(live, 'cancelled', null, null);
      return this.liveRecord(live);
    }
    this.requestStop(live, 'cancel');
    await live.settled;
    return live.log.done ? this.liveRecord(live) : ((await this.get(id, owner)) ?? this.liveRecord(live));
  }

  async result(id: string, owner: Owner): Promise<JobResult | null> {
    const live = this.live.get(id);
    if (live) {
      if (!visible(live.job, owner)) return null;
      return { job: this.liveRecord(live), series: seriesToJson(live.log.telemetry.view()), summary: live.job.summary };
    }
    const job = await this.store.get(id);
    if (!job || !visible(job, owner)) return null;
    const log = await this.endedLog(id);
    const telemetry = log ? log.telemetry : Telemetry.empty();
    return { job: storedRecord(job), series: seriesToJson(telemetry.view()), summary: job.summary };
  }

  async subscribe(id: string, owner: Owner, options: SubscribeOptions): Promise<Subscription | null> {
    const live = this.live.get(id);
    if (live) return visible(live.job, owner) ? live.log.subscribe(options) : null;
    const job = await this.store.get(id);
    if (!job || !visible(job, owner)) return null;
    // The job may have ended and left the live map while the store was read.
    const again = this.live.get(id);
    if (again) return again.log.subscribe(options);
    const log = await this.endedLog(id);
    if (!log) {
      // Unfinished but not live: only after close(); the events are gone with the process.
      queueMicrotask(() => options.onEnd?.());
      return { close() {} };
    }
    return log.subscribe(options);
  }

  /** An ended job's log, from the cache or decoded from the store; null when it has none. */
  private async endedLog(id: string): Promise<JobLog | null> {
    const cached = this.endedLogs.get(id);
    if (cached) return cached;
    const stored = await this.store.getResult(id);
    if (!stored) return null;
    const log = new JobLog(Telemetry.fromBlob(stored.series), stored.nonFinite, stored.done);
    this.endedLogs.put(id, log);
    return log;
  }

  stats(): RuntimeStats {
    return {
      queued: this.counts.queued,
      running: this.running.size,
      byStatus: { ...this.counts },
      stepsComputed: this.stepsComputed,
      tasksStarted: this.tasksStarted,
      workers: this.config.workers,
    };
  }

  async ready(): Promise<boolean> {
    if (this.draining || this.closed) return false;
    try {
      await this.store.checkWritable();
    } catch (err) {
      this.log.warn({ err }, 'job store is not writable');
      return false;
    }
    return this.pool.threads.length > 0;
  }

  /** Listens for jobs reaching an end state (sweeps, metrics); returns the unsubscribe function. */
  onJobEnd(listener: (job: JobRecord) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  close(options: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutDown(options.graceMs ?? 0);
    return this.closing;
  }

  private async shutDown(graceMs: number): Promise<void> {
    if (this.closed) return;
    this.draining = true;
    // Jobs waiting in a task go back to the queue (and stay queued in the store): only started ones finish.
    for (const task of this.tasks) Atomics.store(task.flags, YIELD_SLOT, 1);
    if (this.running.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...this.running].map((j) => j.settled)),
        new Promise((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    // Whatever is still in a worker goes back to the queue, in the store, for the next start.
    const handBack = [...this.dispatched];
    for (const live of handBack) this.requestStop(live, 'requeue');
    await Promise.all(handBack.map((j) => j.settled));
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    for (const live of this.live.values()) live.log.endAll();
    await this.retentionChain;
    await this.pool.destroy();
    await this.store.close();
  }

  /**
   * Tests only: behaves as if the process died — the worker threads are killed mid-step and nothing
   * more reaches the store, which is left exactly as the last completed write left it.
   */
  async abandon(): Promise<void> {
    this.closed = true;
    this.draining = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    for (const live of this.live.values()) live.log.endAll();
    await this.pool.destroy();
    await this.store.close();
  }

  private makeLive(job: StoredJob): LiveJob {
    const work = estimateWork(job.spec);
    return {
      id: job.id,
      job,
      lane: job.sweepId === null ? SINGLE_LANE : `sweep:${job.sweepId}`,
      log: new JobLog(),
      logger: this.log.child({ jobId: job.id }),
      task: null,
      slot: 0,
      started: false,
      cancelRequested: false,
      requeue: false,
      settled: null,
      settle: null,
      maxRecords: work.records,
      flops: work.flops,
    };
  }

  private liveRecord(live: LiveJob): JobRecord {
    const { job, log } = live;
    // The store's copy lags the live log: progress and lastSeq come from the log.
    return {
      ...storedRecord(job),
      progress: { step: log.telemetry.lastStep(), steps: job.spec.training.steps },
      lastSeq: log.available() - 1,
    };
  }

  private dispatch(): void {
    while (!this.draining && this.tasks.size < this.config.workers && this.queue.size > 0) {
      const free = this.config.workers - this.tasks.size;
      const first = this.queue.shift()!;
      const jobs = [first];
      if (first.flops <= SMALL_JOB_FLOPS) {
        // At most this task's share of what waits, so that no worker idles while another has a long list.
        const share = Math.min(MAX_TASK_JOBS, Math.ceil((this.queue.size + 1) / free));
        let work = first.flops;
        for (let next = this.queue.peek(); next && jobs.length < share; next = this.queue.peek()) {
          if (next.flops > SMALL_JOB_FLOPS || work + next.flops > TASK_FLOPS) break;
          jobs.push(this.queue.shift()!);
          work += next.flops;
        }
      }
      this.startTask(jobs);
    }
  }

  /** Work arrived in `lane`: tasks holding unstarted jobs of other lanes only hand them back, so the lane gets its turn. */
  private yieldTo(lane: string): void {
    if (this.tasks.size < this.config.workers) return;
    for (const task of this.tasks) {
      let others = false;
      for (const live of task.open) {
        if (live.started) continue;
        if (live.lane === lane) {
          others = false;
          break;
        }
        others = true;
      }
      if (others) Atomics.store(task.flags, YIELD_SLOT, 1);
    }
  }

  private requestStop(live: LiveJob, why: 'cancel' | 'requeue'): void {
    if (why === 'cancel') live.cancelRequested = true;
    else live.requeue = true;
    const task = live.task;
    if (!task) return;
    const slot = stopSlot(live.slot);
    if (!live.started) {
      // Withdraw it, unless the worker has just claimed it (its start message is on its way).
      if (Atomics.compareExchange(task.flags, slot, WAITING, STOP) === WAITING) {
        // It will never run: settled now, whatever the job before it in the task is doing.
        this.unstarted(task, live);
        return;
      }
      this.markStarted(live);
    }
    Atomics.store(task.flags, slot, STOP);
    // The engine checks the flag between steps; a step that never ends loses its thread instead.
    const timer = setTimeout(
      () => task.abort.abort(new Error('stopped: the run did not stop between steps in time')),
      this.cancelGraceMs,
    );
    live.settled?.finally(() => clearTimeout(timer));
  }

  private startTask(jobs: LiveJob[]): void {
    const task: RunningTask = {
      jobs,
      flags: new Int32Array(new SharedArrayBuffer(4 * (1 + jobs.length))),
      abort: new AbortController(),
      open: new Set(jobs),
      finishing: [],
    };
    jobs.forEach((live, slot) => {
      live.task = task;
      live.slot = slot;
      live.started = false;
      live.settled = new Promise<void>((resolve) => {
        live.settle = resolve;
      });
      this.dispatched.add(live);
    });
    this.tasks.add(task);
    this.tasksStarted++;
    // The first job starts at once (the worker never skips nor hands back job 0): it is running now.
    this.markStarted(jobs[0]);
    void this.runTask(task);
  }

  /** Runs a task to its end: every job in it is finalized, or back in the queue, when this settles. */
  private async runTask(task: RunningTask): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    // The worker's last message is `fin`; a thread that died closes the port instead. Either way,
    // every message of the task has arrived then, and none is lost to a race with the task's promise.
    let portDrained!: () => void;
    const portDone = new Promise<void>((resolve) => {
      portDrained = resolve;
    });
    port1.once('close', () => portDrained());
    port1.on('message', (msg: WorkerMessage) => {
      if (msg.t === 'fin') portDrained();
      else this.onWorkerMessage(task, msg);
    });
    let failure: unknown = null;
    try {
      await this.pool.run(
        {
          jobs: task.jobs.map((l) => ({ spec: l.job.spec })),
          port: port2,
          flags: task.flags,
        },
        { transferList: [port2], signal: task.abort.signal },
      );
    } catch (error) {
      failure = error;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([portDone, new Promise((r) => (timer = setTimeout(r, PORT_DRAIN_MS)))]);
    clearTimeout(timer);
    port1.close();
    this.tasks.delete(task);
    if (this.closed) {
      // Abandoned: a dead process writes nothing.
      for (const live of task.open) live.settle?.();
      return;
    }
    // Jobs the worker never reported: the started one was running when the task failed; the others never ran.
    for (const live of [...task.open].reverse()) {
      if (live.started) {
        task.finishing.push(
          this.finalize(live, { ok: false, error: failure ?? new Error('the worker ended the task early') }),
        );
      } else {
        this.unstarted(task, live);
      }
    }
    // The next task takes the thread while this one's ends are being stored: no worker waits on the store.
    this.dispatch();
    await Promise.all(task.finishing);
    this.dispatch();
  }

  private onWorkerMessage(task: RunningTask, msg: WorkerMessage): void {
    const live = task.jobs[msg.j];
    if (!live) return;
    const { log } = live;
    switch (msg.t) {
      case 'start':
        if (!live.started) this.markStarted(live);
        break;
      case 'shape':
        log.telemetry = new Telemetry(msg, live.maxRecords);
        break;
      case 'batch': {
        const before = log.telemetry.lastStep();
        log.telemetry.appendColumns(msg);
        this.stepsComputed += log.telemetry.lastStep() - before;
        log.notify();
        break;
      }
      case 'nonfinite':
        log.nonFinite = { info: msg.info, afterRecord: log.telemetry.length - 1 };
        log.notify();
        break;
      case 'end':
      case 'fail': {
        const outcome: RunOutcome =
          msg.t === 'end'
            ? { ok: true, result: { status: msg.status, summary: msg.summary } }
            : { ok: false, error: new Error(msg.message) };
        task.finishing.push(this.finalize(live, outcome));
        break;
      }
      case 'skip':
        // Withdrawn by requestStop, which has already settled it.
        if (task.open.has(live)) this.unstarted(task, live);
        break;
      case 'yield':
        for (let j = task.jobs.length - 1; j >= msg.j; j--) {
          const back = task.jobs[j];
          if (task.open.has(back)) this.unstarted(task, back);
        }
        break;
    }
  }

  private markStarted(live: LiveJob): void {
    const { job } = live;
    live.started = true;
    job.status = 'running';
    job.startedAt = new Date().toISOString();
    this.counts.queued--;
    this.counts.running++;
    this.running.add(live);
    live.logger.debug('job started');
    // The thread starts at once; the store learns of it meanwhile. Should that write fail, the store
    // still says queued, which a restart treats the same way (the job runs again).
    this.store
      .setRunning(job.id, job.startedAt)
      .catch((err: unknown) => live.logger.error({ err }, 'could not mark the job running in the store'));
  }

  /** A job of the task that never started: cancelled, left queued for the next start, or back in the queue. */
  private unstarted(task: RunningTask, live: LiveJob): void {
    task.open.delete(live);
    this.dispatched.delete(live);
    live.task = null;
    const settle = live.settle;
    live.settle = null;
    if (live.cancelRequested) {
      task.finishing.push(this.end(live, 'cancelled', null, null).finally(() => settle?.()));
      return;
    }
    if (!live.requeue && !this.closed) this.queue.unshift(live, live.lane);
    settle?.();
  }

  /** A started job's run is over: store its end (or hand it back), then let waiters go. */
  private async finalize(live: LiveJob, outcome: RunOutcome): Promise<void> {
    const task = live.task!;
    this.running.delete(live);
    this.counts.running--;
    task.open.delete(live);
    this.dispatched.delete(live);
    live.task = null;
    try {
      // A run that completed before it saw the stop flag simply ends; its result stands.
      if (live.requeue && !(outcome.ok && outcome.result.status === 'completed')) {
        await this.handBack(live);
      } else if (outcome.ok) {
        const cancelled = outcome.result.status === 'stopped' && live.cancelRequested;
        await this.end(live, cancelled ? 'cancelled' : 'succeeded', outcome.result.summary, null);
      } else if (live.cancelRequested) {
        await this.end(live, 'cancelled', null, null);
      } else {
        const reason = describeFailure(outcome.error);
        live.logger.warn({ err: outcome.error }, 'job failed');
        await this.end(live, 'failed', null, reason);
      }
    } catch (err) {
      live.logger.error({ err }, 'could not record the end of a job');
    }
    live.log.notify();
    live.settle?.();
    live.settle = null;
  }

  private async end(live: LiveJob, status: EndStatus, summary: Summary | null, error: string | null): Promise<void> {
    const { job, log } = live;
    const wasQueued = job.status === 'queued';
    const done: DoneEvent = {
      type: 'done',
      seq: log.eventsBeforeDone(),
      status,
      summary,
      ...(error !== null ? { error } : {}),
    };
    job.status = status;
    job.endedAt = new Date().toISOString();
    job.step = summary?.stepsRun ?? log.telemetry.lastStep();
    job.summary = summary;
    job.error = error;
    job.lastSeq = done.seq;
    if (wasQueued) this.counts.queued--;
    this.counts[status]++;
    try {
      await this.store.finish(job, { series: log.telemetry.toBlob(), nonFinite: log.nonFinite, done });
      this.endedLogs.put(job.id, new JobLog(log.telemetry, log.nonFinite, done));
    } catch (err) {
      // The events still reach subscribers; the store keeps the job unfinished, so a restart re-runs it.
      live.logger.error({ err }, 'could not store the end of a job');
    }
    // Retention runs before done goes out: whoever saw done sees the store as retention left it.
    await this.scheduleRetention();
    log.done = done;
    // Subscribers keep the log; the map lets go so an ended job costs nothing here.
    this.live.delete(job.id);
    log.notify();
    // A sweep's cells end by the thousand: the sweep logs its own start and end at info, its cells at debug.
    const level = job.sweepId === null || status === 'failed' ? 'info' : 'debug';
    live.logger[level]({ status, outcome: summary?.outcome, error }, 'job ended');
    const record = storedRecord(job);
    for (const listener of this.endListeners) {
      try {
        listener(record);
      } catch (err) {
        this.log.error({ err }, 'job end listener threw');
      }
    }
  }

  private async handBack(live: LiveJob): Promise<void> {
    live.job.status = 'queued';
    live.job.startedAt = null;
    this.counts.queued++;
    await this.store.setRunning(live.id, null);
    live.logger.info('job handed back to the queue for the next start');
  }

  private scheduleRetention(): Promise<void> {
    if (this.config.jobTtlMs === null && this.config.maxJobs === null) return Promise.resolve();
    this.retentionChain = this.retentionChain.then(() => this.enforceRetention());
    return this.retentionChain;
  }

  private async enforceRetention(): Promise<void> {
    if (this.closed) return;
    try {
      const gone = await this.store.evict({
        ttlMs: this.config.jobTtlMs,
        maxJobs: this.config.maxJobs,
        now: Date.now(),
      });
      for (const job of gone) {
        this.counts[job.status]--;
        this.endedLogs.delete(job.id);
      }
      if (gone.length > 0) this.log.debug({ jobs: gone.length }, 'retention deleted ended jobs');
    } catch (err) {
      this.log.error({ err }, 'retention failed');
    }
  }
}

function visible(job: StoredJob, owner: Owner): boolean {
  return owner === null || job.owner === owner;
}

function storedRecord(job: StoredJob): JobRecord {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    owner: job.owner,
    spec: job.spec,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    endedAt: job.endedAt,
    progress: { step: job.step, steps: job.spec.training.steps },
    summary: job.summary,
    error: job.error,
    lastSeq: job.lastSeq,
    sweepId: job.sweepId,
  };
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_WORKER_OUT_OF_MEMORY') return `the worker ran out of memory: ${error.message}`;
    return error.message || error.name;
  }
  return String(error);
}

function fmt(x: number): string {
  return x.toExponential(3);
}

export type { JobStatus };
