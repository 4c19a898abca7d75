/**
 * The analysis pool: POST /v1/analysis runs in a worker thread, so that one request's linear
 * algebra (SVDs of a large network take seconds) never blocks the event loop. Built on the same
 * pool factory as the job pool (pool.ts); started on first use.
 */
import type { AnalysisRequest, AnalysisResult } from '../contract/analysis.js';
import { errors } from '../errors.js';
import { createWorkerPool, sibling } from './pool.js';

/** Analyses waiting for a thread beyond this are refused with 503: each may take seconds. */
const MAX_WAITING = 8;
const IDLE_MS = 60_000;

export interface AnalysisPool {
  /** Throws GL_ERR_QUEUE_FULL (503) when MAX_WAITING analyses already wait. */
  run(request: AnalysisRequest): Promise<AnalysisResult>;
  close(): Promise<void>;
}

export function createAnalysisPool(threads = 1): AnalysisPool {
  type Pool = ReturnType<typeof createWorkerPool<AnalysisRequest, AnalysisResult>>;
  let pool: Pool | null = null;
  // Started on first use: most servers never analyse, and a thread costs memory and start-up time.
  const get = () => {
    pool ??= createWorkerPool<AnalysisRequest, AnalysisResult>({
      worker: sibling('analysis-worker'),
      minThreads: 0,
      maxThreads: threads,
      maxQueue: MAX_WAITING,
      idleTimeoutMs: IDLE_MS,
    });
    return pool;
  };
  return {
    async run(request) {
      const p = get();
      if (p.queueSize >= MAX_WAITING) throw new errors.QUEUE_FULL(p.queueSize);
      return p.run(request);
    },
    async close() {
      await pool?.destroy();
      pool = null;
    },
  };
}
