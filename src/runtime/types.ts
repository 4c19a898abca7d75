/**
 * The runtime's face toward HTTP: the job service. Routes call only this; the embedded backend
 * (in-process queue, piscina pool, SQLite store) and the distributed one (BullMQ, Redis) both
 * implement it.
 */
import type { JobEvent, JobStatus, Summary } from '../contract/events.js';
import type { JobSpec } from '../contract/spec.js';
import type { Series } from '../engine/types.js';
import type { Trace } from './trace.js';

/**
 * Which build of the engine's WebAssembly kernels runs a job (docs/design.md, "Exact vs FMA kernels"):
 * `exact` gives the same bits on every CPU; `fma` fuses multiply-adds (relaxed SIMD), faster on some
 * CPUs and within rounding of exact, but not bit-identical to it nor across CPUs.
 */
export type EngineKernels = 'exact' | 'fma';

/** Who owns a job: the API key's id when API keys are configured, else null (everyone). */
export type Owner = string | null;

export interface JobRecord {
  id: string;
  name: string | null;
  status: JobStatus;
  owner: Owner;
  spec: JobSpec;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** Steps completed so far and in all. */
  progress: { step: number; steps: number };
  summary: Summary | null;
  /** Why the job failed (status failed), or null. */
  error: string | null;
  /** seq of the last event emitted so far (−1 before the first). */
  lastSeq: number;
  /** Set when the job is one cell of a sweep. */
  sweepId?: string | null;
  /** The kernels the job runs (and, once ended, ran) with: fixed when it is submitted. */
  kernels: EngineKernels;
  /**
   * Only in the record end listeners get, for a job submitted with `keep: 'summary'`: the compact
   * trace of its run (trace.ts), since its series is not stored.
   */
  trace?: Trace | null;
}

export interface ListQuery {
  owner: Owner;
  status?: JobStatus;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
  limit: number;
  /** Only the cells of this sweep. */
  sweepId?: string;
  /** Without sweepId: true lists only jobs submitted on their own (no sweep cells); default false (every job). */
  singles?: boolean;
}

export interface SubmitOptions {
  /** Submits the job as a cell of this sweep: it queues in the sweep's lane (fair scheduling). */
  sweepId?: string;
  /**
   * What the job's end stores: 'series' (default) the whole series; 'summary' the summary alone
   * (its end listeners get a compact trace), the series being recomputed when asked for
   * (docs/runtime.md, "Series on demand").
   */
  keep?: 'series' | 'summary';
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface JobResult {
  job: JobRecord;
  /**
   * The recorded columns, as typed arrays over the job's telemetry (a snapshot: records arriving
   * later are not in it). Never serialized whole: HTTP streams it in chunks (http/result-stream.ts);
   * `seriesToJson` gives the contract's JSON form.
   */
  series: Series;
  summary: Summary | null;
}

/**
 * A live subscription to a job's events. Events arrive in seq order, each exactly once, from
 * `from` on (replay first, then live), and end with `done`.
 */
export interface Subscription {
  /** Stops delivery; safe to call twice. */
  close(): void;
}

export interface SubscribeOptions {
  from: number;
  onEvent(event: JobEvent): void;
  /** Called after `done` has been delivered, or when the job disappears. */
  onEnd?(): void;
}

export interface RuntimeStats {
  queued: number;
  running: number;
  byStatus: Record<JobStatus, number>;
  stepsComputed: number;
  /** Worker tasks started since the process started; small jobs share one (jobs ended ÷ tasks = jobs per task). */
  tasksStarted: number;
  workers: number;
}

export interface JobService {
  /** Queues a job. Throws GL_ERR_SPEC_IMPOSSIBLE (422), GL_ERR_OVER_BUDGET (422), GL_ERR_QUEUE_FULL (503), GL_ERR_DRAINING (503). */
  submit(spec: JobSpec, owner: Owner, options?: SubmitOptions): Promise<JobRecord>;
  /** null when unknown or owned by someone else. */
  get(id: string, owner: Owner): Promise<JobRecord | null>;
  list(query: ListQuery): Promise<Page<JobRecord>>;
  /** Cancels a queued or running job. Throws GL_ERR_JOB_NOT_FOUND (404) or GL_ERR_JOB_ENDED (409). */
  cancel(id: string, owner: Owner): Promise<JobRecord>;
  /** The whole series so far (a running job's is partial); null when unknown. */
  result(id: string, owner: Owner): Promise<JobResult | null>;
  /** null when the job is unknown or not the owner's. */
  subscribe(id: string, owner: Owner, options: SubscribeOptions): Promise<Subscription | null>;
  stats(): RuntimeStats;
  /** True while the store is writable, the pool is up and the service is not draining. */
  ready(): Promise<boolean>;
  /**
   * Stops accepting jobs, lets running jobs finish for up to `graceMs`, leaves the rest queued for
   * the next start, closes the store.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  /** Calls `listener` with the final record each time a job ends; returns the unsubscribe function. */
  onJobEnd?(listener: (job: JobRecord) => void): () => void;
}
