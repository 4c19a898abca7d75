/**
 * A small worker pool for analyses, so that one request's linear algebra never blocks the event
 * loop. Under tsx or vitest this module is .ts and the worker gets tsx's loader; built as .js it
 * needs none (the same arrangement as the runtime's pool).
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { AnalysisRequest, AnalysisResult } from '../contract/analysis.js';
import { errors } from '../errors.js';

/** Analyses waiting for a thread beyond this are refused with 503: each may take seconds. */
const MAX_WAITING = 8;

export interface AnalysisPool {
  run(request: AnalysisRequest): Promise<AnalysisResult>;
  close(): Promise<void>;
}

export function createAnalysisPool(threads = 1): AnalysisPool {
  const own = import.meta.url;
  const filename = fileURLToPath(new URL(own.endsWith('.ts') ? './analysis-worker.ts' : './analysis-worker.js', own));
  let pool: Piscina<AnalysisRequest, AnalysisResult> | null = null;
  // Started on first use: most servers never analyse, and a thread costs memory and start-up time.
  const get = () => {
    pool ??= new Piscina<AnalysisRequest, AnalysisResult>({
      filename,
      minThreads: 0,
      maxThreads: threads,
      maxQueue: MAX_WAITING,
      idleTimeout: 60_000,
      execArgv: filename.endsWith('.ts') ? ['--import', pathToFileURL(createRequire(own).resolve('tsx')).href] : [],
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
