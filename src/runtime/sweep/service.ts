/**
 * The sweep service, on top of the JobService interface: it validates and expands a sweep, feeds
 * its cells to the job service a window at a time (so a 10,000-cell grid never fills the job
 * queue, and cells go into the sweep's own fair-queue lane), records each cell's summary as its
 * job ends, and streams `cell` events (seq per sweep, resumable with `from`) and a final `done`.
 */
import type { Logger } from 'pino';
import type { CellStatus, Sweep, SweepCell, SweepEvent, SweepRequest, SweepStatus } from '../../contract/sweep.js';
import { errors } from '../../errors.js';
import { newId } from '../ids.js';
import type { JobRecord, JobService, Owner } from '../types.js';
import { cellSpec, cellValues, expandSweep, type SweepBudget, short } from './expand.js';
import { cellWithJob, emptyCounts, isEnded, pendingCell, progressOf } from './grid.js';
import { MemorySweepStore, SqliteSweepStore, type StoredSweep, type SweepStore } from './store.js';
import { predictCell, theoryLines } from './theory.js';

export interface SweepServiceOptions {
  jobs: JobService;
  /** A store to use; else SQLite in `dataDir` (its own file, sweeps.sqlite), or memory when dataDir is null. */
  store?: SweepStore;
  dataDir?: string | null;
  logger?: Logger;
  budget?: SweepBudget;
  /** Cells of one sweep handed to the job service at a time (default: 32 × workers, at least 64: enough for full worker tasks). */
  window?: number;
  /**
   * Ended sweeps (their grid and cell rows) older than this are deleted, checked every min(ttl, 60 s)
   * and whenever a sweep ends; null keeps them. The app passes JOB_TTL: a sweep goes with its cells' jobs.
   */
  ttlMs?: number | null;
}

export interface SweepView {
  sweep: Sweep;
  cells: SweepCell[];
}

export interface SweepSubscribeOptions {
  from: number;
  onEvent(event: SweepEvent): void;
  /** After `done` has been delivered, or when the service closes. */
  onEnd?(): void;
}

export interface SweepSubscription {
  close(): void;
}

export interface SweepService {
  /** Validates, stores and starts a sweep. Throws GL_ERR_SWEEP_INVALID (422) with `errors`, or GL_ERR_DRAINING (503). */
  create(request: SweepRequest, owner: Owner): Promise<SweepView>;
  /** The sweep and its grid; null when unknown or another owner's. */
  get(id: string, owner: Owner): Promise<SweepView | null>;
  list(owner: Owner, limit: number): Promise<Sweep[]>;
  /** Cancels every cell not yet done. Throws GL_ERR_SWEEP_NOT_FOUND (404) or GL_ERR_SWEEP_ENDED (409). */
  cancel(id: string, owner: Owner): Promise<Sweep>;
  /** Cell events with seq ≥ from, in order and once each, then `done`; null when unknown or another owner's. */
  subscribe(id: string, owner: Owner, options: SweepSubscribeOptions): Promise<SweepSubscription | null>;
  /** Stops submitting cells (running sweeps resume on the next start) and closes the store. */
  close(): Promise<void>;
}

/** Cell events read from the store per turn of the event loop during a replay. */
const REPLAY_CHUNK = 512;
/** How long to wait before offering cells again when the job queue was full and nothing of ours is in flight. */
const RETRY_MS = 250;

interface Active {
  id: string;
  owner: Owner;
  request: SweepRequest;
  total: number;
  /** Next never-offered cell; cells below it that still need offering are in `retry`. */
  next: number;
  /** Cells to offer again (the job queue was full or draining), or left pending by a previous process. */
  retry: number[];
  retryTimer: NodeJS.Timeout | null;
  inFlight: Map<string, number>;
  counts: Record<CellStatus, number>;
  lastSeq: number;
  cancelled: boolean;
  blocked: boolean;
  subscribers: Set<Subscriber>;
}

function visible(sweep: { owner: Owner }, owner: Owner): boolean {
  return owner === null || sweep.owner === owner;
}

class Subscriber implements SweepSubscription {
  next: number;
  closed = false;
  private pumping = false;

  constructor(
    private readonly service: SweepServiceImpl,
    readonly id: string,
    private readonly options: SweepSubscribeOptions,
  ) {
    this.next = Math.max(0, Math.floor(options.from));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.service.detach(this);
  }

  end(): void {
    if (this.closed) return;
    this.close();
    this.options.onEnd?.();
  }

  /** Delivers whatever is available; long replays yield to the event loop between chunks. */
  async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        if (this.closed) return;
        const state = this.service.snapshot(this.id);
        if (state === null) return this.end();
        if (this.next <= state.lastSeq) {
          const entries = this.service.store.ended(this.id, this.next, REPLAY_CHUNK);
          for (const { seq, cell } of entries) {
            if (this.closed) return;
            if (seq !== this.next) continue;
            this.options.onEvent({ type: 'cell', seq, cell });
            this.next = seq + 1;
          }
          if (entries.length === REPLAY_CHUNK) await new Promise((r) => setImmediate(r));
          continue;
        }
        if (state.status !== 'running' && this.next <= state.total) {
          this.options.onEvent({
            type: 'done',
            seq: state.total,
            status: state.status,
            progress: progressOf(state.total, state.counts),
          });
          return this.end();
        }
        if (state.status !== 'running') return this.end();
        return;
      }
    } finally {
      this.pumping = false;
    }
  }
}

class SweepServiceImpl implements SweepService {
  readonly active = new Map<string, Active>();
  /** jobId → sweep for cells in flight, so a job's end finds its cell. */
  private readonly byJob = new Map<string, Active>();
  /** Ends reported before submit() returned the job's id (a very fast cell). */
  private readonly earlyEnds = new Map<string, JobRecord>();
  private readonly unlisten: (() => void) | null;
  private readonly submitting = new Set<Promise<void>>();
  private readonly window: number;
  private closed = false;
  private retentionTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly jobs: JobService,
    readonly store: SweepStore,
    private readonly ownsStore: boolean,
    private readonly log: Logger | undefined,
    private readonly budget: SweepBudget,
    window: number | undefined,
    private readonly ttlMs: number | null = null,
  ) {
    this.window = window ?? Math.max(64, 32 * jobs.stats().workers);
    this.unlisten = jobs.onJobEnd ? jobs.onJobEnd((job) => this.jobEnded(job)) : null;
    if (ttlMs !== null) {
      this.retentionTimer = setInterval(() => this.expire(), Math.min(ttlMs, 60_000));
      this.retentionTimer.unref();
    }
  }

  /** Deletes the ended sweeps past the TTL (retention, docs/sweeps.md). */
  expire(): void {
    if (this.ttlMs === null || this.closed) return;
    const gone = this.store.evict(new Date(Date.now() - this.ttlMs).toISOString());
    if (gone.length > 0) this.log?.info({ sweeps: gone.length }, 'ended sweeps deleted (retention)');
  }

  async resume(): Promise<void> {
    for (const id of this.store.running()) {
      const stored = this.store.get(id)!;
      const cells = this.store.cells(id);
      const a = this.activate(stored, cells);
      // Track first, synchronously: a job that ends while we look the others up must find its cell.
      for (const cell of cells) if (cell.jobId !== null && !isEnded(cell.status)) this.track(a, cell.jobId, cell.index);
      for (const jobId of [...a.inFlight.keys()]) {
        const job = await this.jobs.get(jobId, stored.owner);
        // Unknown to the job service (an in-memory backend restarted): the cell cannot finish.
        if (!job) this.jobEnded({ id: jobId, status: 'failed', summary: null, sweepId: a.id } as JobRecord);
        else if (isEnded(job.status)) this.jobEnded(job);
      }
      this.log?.info({ sweepId: id, inFlight: a.inFlight.size }, 'resuming sweep');
      this.pump(a);
    }
  }

  private activate(stored: StoredSweep, cells: SweepCell[]): Active {
    const counts = emptyCounts();
    const retry: number[] = [];
    for (const c of cells) {
      counts[c.status]++;
      if (c.status === 'pending') retry.push(c.index);
    }
    const a: Active = {
      id: stored.id,
      owner: stored.owner,
      request: stored.request,
      total: cells.length,
      next: cells.length,
      retry,
      retryTimer: null,
      inFlight: new Map(),
      counts,
      lastSeq: stored.lastSeq,
      cancelled: counts.cancelled > 0 && counts.pending === 0,
      blocked: false,
      subscribers: new Set(),
    };
    this.active.set(a.id, a);
    return a;
  }

  async create(request: SweepRequest, owner: Owner): Promise<SweepView> {
    if (this.closed) throw new errors.DRAINING();
    const cache = new Map<string, number | null>();
    const cells: SweepCell[] = [];
    const { shape } = expandSweep(request, this.budget, (i, spec) => {
      cells.push(pendingCell(i, cellValues(request, i), predictCell(spec, cache)));
    });
    const stored: StoredSweep = {
      id: newId(),
      owner,
      name: request.name ?? null,
      status: 'running',
      createdAt: new Date().toISOString(),
      endedAt: null,
      request,
      shape,
      theory: theoryLines(request),
      error: null,
      lastSeq: -1,
    };
    this.store.insert(stored, cells);
    const a = this.activate(stored, cells);
    this.log?.info({ sweepId: a.id, cells: cells.length }, 'sweep created');
    this.pump(a);
    return (await this.get(a.id, owner))!;
  }

  /** Offers cells to the job service until the window is full, the job queue refuses, or none are left. */
  private pump(a: Active): void {
    if (this.closed || a.blocked || a.cancelled) return;
    while ((a.retry.length > 0 || a.next < a.total) && a.inFlight.size < this.window) {
      const index = a.retry.length > 0 ? a.retry.shift()! : a.next++;
      a.inFlight.set(`pending:${index}`, index);
      const p = this.submitCell(a, index).finally(() => this.submitting.delete(p));
      this.submitting.add(p);
    }
    this.maybeFinish(a);
  }

  private async submitCell(a: Active, index: number): Promise<void> {
    const spec = cellSpec(a.request, index);
    const label = a.request.axes.map(
      (ax, i) => `${ax.path.split('.').at(-1)}=${short(cellValues(a.request, index)[i], 40)}`,
    );
    spec.name = `${a.request.name ?? 'sweep'} · ${label.join(', ')}`.slice(0, 200);
    let job: JobRecord;
    try {
      job = await this.jobs.submit(spec, a.owner, { sweepId: a.id, keep: a.request.keep ?? 'series' });
    } catch (err) {
      a.inFlight.delete(`pending:${index}`);
      if (a.cancelled) {
        this.finishCell(a, { ...this.store.cell(a.id, index)!, status: 'cancelled' });
        return;
      }
      const draining = err instanceof errors.DRAINING;
      if (draining || err instanceof errors.QUEUE_FULL) {
        // Offer the cell again later: when one of ours ends, or after a pause.
        a.retry.push(index);
        a.retry.sort((x, y) => x - y);
        if (draining) return;
        a.blocked = true;
        if (a.retryTimer === null) {
          a.retryTimer = setTimeout(() => {
            a.retryTimer = null;
            a.blocked = false;
            this.pump(a);
          }, RETRY_MS);
          a.retryTimer.unref();
        }
        return;
      }
      const message = `cell ${index} could not be submitted: ${(err as Error).message}`;
      this.log?.warn({ sweepId: a.id, err }, message);
      if (this.store.get(a.id)?.error === null) this.store.update(a.id, { error: message });
      this.finishCell(a, { ...this.store.cell(a.id, index)!, status: 'failed' });
      this.pump(a);
      return;
    }
    a.inFlight.delete(`pending:${index}`);
    const cell = this.store.cell(a.id, index)!;
    const early = this.earlyEnds.get(job.id);
    if (early) {
      this.earlyEnds.delete(job.id);
      this.finishCell(a, cellWithJob(cell, early));
      this.pump(a);
      return;
    }
    this.store.putCell(a.id, cellWithJob(cell, job));
    a.counts.pending--;
    a.counts.queued++;
    this.track(a, job.id, index);
    if (a.cancelled)
      await this.jobs.cancel(job.id, a.owner).catch(() => {
        // Already ended: its end arrives through onJobEnd like any other.
      });
    else if (!this.unlisten) void this.watch(a, job.id);
  }

  private track(a: Active, jobId: string, index: number): void {
    a.inFlight.set(jobId, index);
    this.byJob.set(jobId, a);
  }

  /** Without onJobEnd (another backend), learn of the end from the job's own event stream. */
  private async watch(a: Active, jobId: string): Promise<void> {
    const sub = await this.jobs.subscribe(jobId, a.owner, {
      from: 0,
      onEvent: () => {},
      onEnd: () => {
        void this.jobs.get(jobId, a.owner).then((job) => job && this.jobEnded(job));
      },
    });
    if (sub === null) {
      const job = await this.jobs.get(jobId, a.owner);
      if (job) this.jobEnded(job);
    }
  }

  private jobEnded(job: JobRecord): void {
    if (!job.sweepId || this.closed) return;
    const a = this.byJob.get(job.id);
    if (!a) {
      if (this.active.has(job.sweepId)) this.earlyEnds.set(job.id, job);
      return;
    }
    const index = a.inFlight.get(job.id);
    if (index === undefined) return;
    this.byJob.delete(job.id);
    a.inFlight.delete(job.id);
    a.blocked = false;
    const cell = this.store.cell(a.id, index)!;
    this.finishCell(a, cellWithJob(cell, job));
    this.pump(a);
  }

  /** Writes an ended cell with the sweep's next seq and tells the subscribers. */
  private finishCell(a: Active, cell: SweepCell): void {
    const before = this.store.cell(a.id, cell.index);
    if (before && isEnded(before.status)) return;
    const seq = a.lastSeq + 1;
    this.store.putCell(a.id, cell, seq);
    a.lastSeq = seq;
    if (before) a.counts[before.status]--;
    a.counts[cell.status]++;
    for (const s of a.subscribers) void s.pump();
    this.maybeFinish(a);
  }

  private maybeFinish(a: Active): void {
    const done = a.counts.succeeded + a.counts.failed + a.counts.cancelled;
    if (done < a.total || !this.active.has(a.id)) return;
    if (a.retryTimer) clearTimeout(a.retryTimer);
    const status: SweepStatus = a.cancelled ? 'cancelled' : 'succeeded';
    this.store.update(a.id, { status, endedAt: new Date().toISOString() });
    this.active.delete(a.id);
    this.log?.info({ sweepId: a.id, status }, 'sweep ended');
    this.expire();
    for (const s of a.subscribers) void s.pump();
  }

  /** What a subscriber needs to know: events available, whether the sweep has ended. */
  snapshot(
    id: string,
  ): { lastSeq: number; total: number; status: SweepStatus; counts: Record<CellStatus, number> } | null {
    const a = this.active.get(id);
    if (a) return { lastSeq: a.lastSeq, total: a.total, status: 'running', counts: a.counts };
    if (this.closed) return null;
    const s = this.store.get(id);
    if (!s) return null;
    const total = s.shape.reduce((x, y) => x * y, 1);
    return {
      lastSeq: s.lastSeq,
      total,
      status: s.status,
      counts: s.status === 'running' ? emptyCounts() : this.store.counts(id),
    };
  }

  detach(sub: Subscriber): void {
    this.active.get(sub.id)?.subscribers.delete(sub);
  }

  async get(id: string, owner: Owner): Promise<SweepView | null> {
    const s = this.store.get(id);
    if (!s || !visible(s, owner)) return null;
    let cells = this.store.cells(id);
    const a = this.active.get(id);
    if (a) {
      // Cells in flight show their job's live status (queued or running).
      const live = await Promise.all(
        [...a.inFlight.entries()]
          .filter(([jobId]) => !jobId.startsWith('pending:'))
          .map(([jobId]) => this.jobs.get(jobId, s.owner)),
      );
      cells = cells.slice();
      for (const job of live)
        if (job && !isEnded(job.status)) {
          const i = a.inFlight.get(job.id);
          if (i !== undefined && !isEnded(cells[i].status)) cells[i] = { ...cells[i], status: job.status };
        }
    }
    const counts = emptyCounts();
    for (const c of cells) counts[c.status]++;
    return { sweep: this.toSweep(s, counts), cells };
  }

  private toSweep(s: StoredSweep, counts: Record<CellStatus, number>): Sweep {
    const total = s.shape.reduce((x, y) => x * y, 1);
    return {
      id: s.id,
      name: s.name,
      status: s.status,
      createdAt: s.createdAt,
      endedAt: s.endedAt,
      seed: s.request.base.seed,
      base: s.request.base,
      axes: s.request.axes,
      // Sweeps stored before `keep` existed kept their series.
      keep: s.request.keep ?? 'series',
      shape: s.shape,
      theory: s.theory,
      progress: progressOf(total, counts),
      error: s.error,
    };
  }

  async list(owner: Owner, limit: number): Promise<Sweep[]> {
    return this.store.list(owner, limit).map((s) => this.toSweep(s, this.store.counts(s.id)));
  }

  async cancel(id: string, owner: Owner): Promise<Sweep> {
    const s = this.store.get(id);
    if (!s || !visible(s, owner)) throw new errors.SWEEP_NOT_FOUND(id);
    const a = this.active.get(id);
    if (!a) throw new errors.SWEEP_ENDED(id, s.status);
    a.cancelled = true;
    a.next = a.total;
    a.retry = [];
    this.store.batch(() => {
      for (const cell of this.store.cells(id))
        if (cell.status === 'pending' && !a.inFlight.has(`pending:${cell.index}`))
          this.finishCell(a, { ...cell, status: 'cancelled' });
    });
    await Promise.all(
      [...a.inFlight.keys()]
        .filter((jobId) => !jobId.startsWith('pending:'))
        .map((jobId) =>
          this.jobs.cancel(jobId, a.owner).catch((err) => {
            // An ended job reports itself through onJobEnd; anything else is worth a line in the log.
            if (!(err instanceof errors.JOB_ENDED))
              this.log?.warn({ sweepId: id, jobId, err }, 'could not cancel cell');
          }),
        ),
    );
    const view = await this.get(id, owner);
    return view!.sweep;
  }

  async subscribe(id: string, owner: Owner, options: SweepSubscribeOptions): Promise<SweepSubscription | null> {
    const s = this.store.get(id);
    if (!s || !visible(s, owner)) return null;
    const sub = new Subscriber(this, id, options);
    this.active.get(id)?.subscribers.add(sub);
    void sub.pump();
    return sub;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unlisten?.();
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    for (const a of this.active.values()) if (a.retryTimer) clearTimeout(a.retryTimer);
    for (const a of this.active.values()) for (const s of a.subscribers) s.end();
    // A submission under way must still record its job id, or the next start would submit the cell twice.
    await Promise.allSettled([...this.submitting]);
    if (this.ownsStore) this.store.close();
  }
}

/** Builds the sweep service and resumes the sweeps a previous process left running. */
export async function createSweepService(options: SweepServiceOptions): Promise<SweepService> {
  const owns = options.store === undefined;
  const store = options.store ?? (options.dataDir ? new SqliteSweepStore(options.dataDir) : new MemorySweepStore());
  const service = new SweepServiceImpl(
    options.jobs,
    store,
    owns,
    options.logger,
    options.budget ?? {},
    options.window,
    options.ttlMs ?? null,
  );
  await service.resume();
  service.expire();
  return service;
}
