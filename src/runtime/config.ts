import type { Logger } from 'pino';
import type { StorageLimits } from './storage.js';
import type { EngineKernels } from './types.js';

/** What the embedded runtime needs; the HTTP layer builds it from its env config. */
export interface RuntimeConfig {
  /** Directory of the SQLite file (jobs.db); null keeps everything in memory (tests). */
  dataDir: string | null;
  /** Worker threads, i.e. jobs running at once. */
  workers: number;
  /** Jobs waiting to start, sweep cells included; beyond it submit throws QUEUE_FULL. */
  maxQueue: number;
  /** Refuse specs whose estimated work (engine `estimateWork().flops`) is above this. */
  maxWorkFlops: number;
  /** Refuse specs whose estimated memory (engine `estimateWork().bytes`) is above this. */
  maxJobBytes: number;
  /** Ended jobs older than this (since they ended) are deleted; null keeps them. */
  jobTtlMs: number | null;
  /** Past this many jobs in all, the oldest ended jobs are deleted; null for no limit. */
  maxJobs: number | null;
  /** V8 old-generation limit of each worker thread; a job that needs more fails alone. */
  workerMaxOldGenMb: number;
  /**
   * Kernels of new jobs (default exact). `fma` needs relaxed SIMD: start refuses it otherwise. A job
   * keeps the kernels it was submitted with, also when it runs again after a restart.
   */
  kernels?: EngineKernels;
  /**
   * Storage budget and per-key quota (runtime/storage.ts); undefined: the defaults for `dataDir`
   * (half its free space at start, at most 20 GiB; a quarter of that per key).
   */
  storage?: StorageLimits;
  /** Most jobs one owner may have waiting, so that one key's sweeps never fill the queue for all (default ¾ of maxQueue). */
  maxQueuePerKey?: number;
  logger: Logger;
  /** How long a cancelled running job may take to stop between steps before its thread is killed (default 2000). */
  cancelGraceMs?: number;
  /** Tests only: another worker module (it must behave like worker.ts). */
  workerFile?: string | URL;
}
