/**
 * The runtime's storage, narrow enough that memory, SQLite and (later) Redis implement it alike;
 * test/runtime/store-conformance.test.ts runs the same suite against each. Methods are async for
 * the sake of networked stores even where the embedded ones answer synchronously.
 */
import type { DoneEvent, JobStatus, Summary } from '../../contract/events.js';
import type { JobSpec } from '../../contract/spec.js';
import type { NonFiniteMark } from '../event-log.js';
import type { SeriesBlob } from '../telemetry.js';
import type { EngineKernels, Owner } from '../types.js';

/** A job as stored: everything in JobRecord except what only a live run knows. */
export interface StoredJob {
  id: string;
  name: string | null;
  status: JobStatus;
  owner: Owner;
  sweepId: string | null;
  spec: JobSpec;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** Last step run (ended jobs; 0 while queued or running). */
  step: number;
  summary: Summary | null;
  error: string | null;
  /** seq of the done event for ended jobs, −1 otherwise. */
  lastSeq: number;
  /** The kernels it runs with, chosen at submission and kept across restarts. */
  kernels: EngineKernels;
}

/** What an ended job leaves behind besides its row. */
export interface StoredResult {
  series: SeriesBlob;
  nonFinite: NonFiniteMark | null;
  done: DoneEvent;
}

export interface StoreListQuery {
  owner: Owner;
  status?: JobStatus;
  sweepId?: string;
  /** With no sweepId: leave out sweep cells (only jobs submitted on their own). */
  singles?: boolean;
  /** Only ids strictly below this one (pages run newest first). */
  before?: string;
  limit: number;
}

export interface EvictionPolicy {
  /** Ended jobs whose endedAt is older than now − ttlMs go. */
  ttlMs: number | null;
  /** Beyond this many jobs in all, the oldest ended ones go. */
  maxJobs: number | null;
  now: number;
}

export interface JobStore {
  insert(job: StoredJob): Promise<void>;
  /** Moves a job between queued and running (startedAt null when re-queued). */
  setRunning(id: string, startedAt: string | null): Promise<void>;
  /** Ends a job: its row and its result are written together, or not at all. */
  finish(job: StoredJob, result: StoredResult): Promise<void>;
  get(id: string): Promise<StoredJob | null>;
  getResult(id: string): Promise<StoredResult | null>;
  /** Newest first, filtered on owner (null = every owner), status and sweep. */
  list(query: StoreListQuery): Promise<StoredJob[]>;
  /** Jobs left queued or running, oldest first: what a restart must run again. */
  unfinished(): Promise<StoredJob[]>;
  countByStatus(): Promise<Record<JobStatus, number>>;
  /** Deletes ended jobs past the policy, oldest ended first; returns the deleted ids. */
  evict(policy: EvictionPolicy): Promise<StoredJob[]>;
  /**
   * Bytes stored per owner: series blobs plus ROW_OVERHEAD_BYTES per job (runtime/storage.ts).
   * Optional: a store without it leaves the storage budget counting only this process's jobs.
   */
  usageByOwner?(): Promise<Map<Owner, number>>;
  /** Throws unless the store can take writes now. */
  checkWritable(): Promise<void>;
  close(): Promise<void>;
}

export const ENDED: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export function emptyCounts(): Record<JobStatus, number> {
  return { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
}
