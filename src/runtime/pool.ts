/**
 * The worker-thread pool (piscina). Under tsx or vitest this module is .ts, and worker threads do
 * not inherit a TypeScript loader: the worker gets tsx through execArgv. Built as .js it needs none.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { WorkerResult, WorkerTask } from './protocol.js';

export interface PoolOptions {
  workers: number;
  workerMaxOldGenMb: number;
  /** Worker module; defaults to ./worker.ts or ./worker.js beside this module. */
  workerFile?: string | URL;
}

export function createPool(options: PoolOptions): Piscina<WorkerTask, WorkerResult> {
  const own = import.meta.url;
  const file = options.workerFile ?? new URL(own.endsWith('.ts') ? './worker.ts' : './worker.js', own);
  const filename = file instanceof URL ? fileURLToPath(file) : file;
  return new Piscina<WorkerTask, WorkerResult>({
    filename,
    minThreads: options.workers,
    maxThreads: options.workers,
    // The service hands piscina at most `workers` tasks at a time; its own queue stays empty.
    maxQueue: Number.POSITIVE_INFINITY,
    concurrentTasksPerWorker: 1,
    idleTimeout: Number.POSITIVE_INFINITY,
    execArgv: filename.endsWith('.ts') ? ['--import', tsxLoader()] : [],
    resourceLimits: { maxOldGenerationSizeMb: options.workerMaxOldGenMb },
  });
}

/** tsx's loader as a file URL: a bare `--import tsx` would resolve from the cwd, which may be anywhere. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
