/**
 * Scheduling and the worker protocol of the embedded backend: the fair queue, tasks of one or
 * more jobs handed to the piscina pool, the messages a worker sends back (protocol.ts), stop and
 * hand-back flags in each task's SharedArrayBuffer (docs/runtime.md, "Scheduling policy",
 * "Workers and cancellation"). What a job's start and end mean for the store is the host's.
 */
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import type { RunOutcome } from './finalization.js';
import { type LiveJob, moveTo, requestStopReason, type StopReason } from './lifecycle.js';
import {
  STOP,
  stopSlot,
  WAITING,
  type WorkerMessage,
  type WorkerResult,
  type WorkerTask,
  YIELD_SLOT,
} from './protocol.js';
import { FairQueue, laneGroup } from './queue.js';
import { Telemetry } from './telemetry.js';

/** A task in a worker: jobs run one after another; see protocol.ts. */
export interface RunningTask {
  jobs: ScheduledJob[];
  flags: Int32Array;
  abort: AbortController;
  /** Jobs of the task not yet finalized (ended, failed, skipped or handed back). */
  open: Set<ScheduledJob>;
  /** Finalizations in progress (store writes), awaited before the task counts as done. */
  finishing: Promise<void>[];
}

export type ScheduledJob = LiveJob<RunningTask>;

/** What the scheduler tells the service about a job's run. */
export interface SchedulerHost {
  /** The job is running now (the worker started it, or it is the first of its task). */
  started(live: ScheduledJob): void;
  /** A started job's run is over (the job is finishing); resolves once its end or hand-back is stored. Never rejects. */
  runOver(live: ScheduledJob, outcome: RunOutcome): Promise<void>;
  /** An assigned job was cancelled before it ran (the job is finishing); resolves once its end is stored. */
  cancelledBeforeStart(live: ScheduledJob): Promise<void>;
}

export interface SchedulerOptions {
  workers: number;
  /** How long a stopped job may take to stop between steps before its thread is killed. */
  cancelGraceMs: number;
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

export class TaskScheduler {
  private readonly queue = new FairQueue<ScheduledJob>();
  private readonly tasks = new Set<RunningTask>();
  /** Jobs that have started and not ended. */
  private readonly running = new Set<ScheduledJob>();
  /** Jobs handed to a worker (in a task, started or not) and not yet finalized. */
  private readonly dispatched = new Set<ScheduledJob>();
  /** False once shutting down: nothing more goes to a worker. */
  private accepting = true;
  stepsComputed = 0;
  tasksStarted = 0;

  constructor(
    private readonly pool: Piscina<WorkerTask, WorkerResult>,
    private readonly options: SchedulerOptions,
    private readonly host: SchedulerHost,
  ) {}

  /** Jobs of one owner waiting in the queue (its lanes' group, see queue.ts laneKey). */
  waitingFor(owner: string | null): number {
    return this.queue.groupSize(laneGroup(owner));
  }

  /** Jobs waiting in the queue. */
  get waiting(): number {
    return this.queue.size;
  }

  /** Jobs running in a worker now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Threads up in the pool. */
  get threads(): number {
    return this.pool.threads.length;
  }

  /** A new job: into its lane's queue, ahead of batching (see yieldTo), then to a thread if one is free. */
  submit(live: ScheduledJob): void {
    this.queue.push(live, live.lane);
    this.yieldTo(live.lane);
    this.dispatch();
  }

  /** A job a previous process left unfinished: queued, not dispatched until `dispatch()`. */
  restore(live: ScheduledJob): void {
    this.queue.push(live, live.lane);
  }

  /** Takes a queued job out of the queue; false when it is not there (it is in a worker, or gone). */
  withdraw(live: ScheduledJob): boolean {
    return this.queue.remove(live.id);
  }

  /** Hands waiting jobs to free threads, several small ones per task. */
  dispatch(): void {
    const { workers } = this.options;
    while (this.accepting && this.tasks.size < workers && this.queue.size > 0) {
      const free = workers - this.tasks.size;
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

  /**
   * Stops a job in a worker: an assigned one is withdrawn (unless the worker has just claimed it),
   * a running one stops between steps. A job not in a worker only has the reason recorded.
   */
  stop(live: ScheduledJob, why: StopReason): void {
    requestStopReason(live, why);
    const task = live.task;
    if (!task) return;
    const slot = stopSlot(live.slot);
    if (live.state === 'assigned') {
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
      this.options.cancelGraceMs,
    );
    live.settled?.finally(() => clearTimeout(timer));
  }

  /**
   * Shutting down: nothing more is dispatched, tasks hand back their unstarted jobs (they stay
   * queued), running jobs get `graceMs` to finish, then whatever is still in a worker is stopped
   * and handed back for the next start. Resolves when no job is in a worker.
   */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
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
    const handBack = [...this.dispatched];
    for (const live of handBack) this.stop(live, 'requeue');
    await Promise.all(handBack.map((j) => j.settled));
  }

  /** Work arrived in `lane`: tasks holding unstarted jobs of other lanes only hand them back, so the lane gets its turn. */
  private yieldTo(lane: string): void {
    if (this.tasks.size < this.options.workers) return;
    for (const task of this.tasks) {
      let others = false;
      for (const live of task.open) {
        if (live.state !== 'assigned') continue;
        if (live.lane === lane) {
          others = false;
          break;
        }
        others = true;
      }
      if (others) Atomics.store(task.flags, YIELD_SLOT, 1);
    }
  }

  private startTask(jobs: ScheduledJob[]): void {
    const task: RunningTask = {
      jobs,
      flags: new Int32Array(new SharedArrayBuffer(4 * (1 + jobs.length))),
      abort: new AbortController(),
      open: new Set(jobs),
      finishing: [],
    };
    jobs.forEach((live, slot) => {
      moveTo(live, 'assigned');
      live.task = task;
      live.slot = slot;
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
          jobs: task.jobs.map((l) =>
            l.stopAfterStep === undefined
              ? { spec: l.job.spec, kernels: l.job.kernels }
              : { spec: l.job.spec, kernels: l.job.kernels, stopAfterStep: l.stopAfterStep },
          ),
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
    // Jobs the worker never reported: the started one was running when the task failed; the others never ran.
    for (const live of [...task.open].reverse()) {
      if (live.state === 'running') {
        this.runOver(task, live, { ok: false, error: failure ?? new Error('the worker ended the task early') });
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
        if (live.state === 'assigned') this.markStarted(live);
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
      case 'fail':
        this.runOver(
          task,
          live,
          msg.t === 'end'
            ? { ok: true, result: { status: msg.status, summary: msg.summary } }
            : { ok: false, error: new Error(msg.message) },
        );
        break;
      case 'skip':
        // Withdrawn by stop(), which has already settled it.
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

  private markStarted(live: ScheduledJob): void {
    moveTo(live, 'running');
    this.running.add(live);
    this.host.started(live);
  }

  private leave(task: RunningTask, live: ScheduledJob): (() => void) | null {
    task.open.delete(live);
    this.dispatched.delete(live);
    live.task = null;
    const settle = live.settle;
    live.settle = null;
    return settle;
  }

  /** A job of the task that never started: cancelled, left queued for the next start, or back in the queue. */
  private unstarted(task: RunningTask, live: ScheduledJob): void {
    const settle = this.leave(task, live);
    if (live.stop === 'cancel') {
      moveTo(live, 'finishing');
      task.finishing.push(this.host.cancelledBeforeStart(live).finally(() => settle?.()));
      return;
    }
    if (live.stop === 'requeue') {
      moveTo(live, 'parked');
    } else {
      moveTo(live, 'queued');
      this.queue.unshift(live, live.lane);
    }
    settle?.();
  }

  /** A started job's run is over: the host stores its end (or hands it back), then waiters go. */
  private runOver(task: RunningTask, live: ScheduledJob, outcome: RunOutcome): void {
    this.running.delete(live);
    const settle = this.leave(task, live);
    moveTo(live, 'finishing');
    task.finishing.push(this.host.runOver(live, outcome).finally(() => settle?.()));
  }
}
