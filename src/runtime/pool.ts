/**
 * Worker-thread pools (piscina), one factory for every pool of the process: the job pool
 * (worker.ts) and the analysis pool (analysis.ts). Under tsx or vitest these modules are .ts, and
 * worker threads do not inherit a TypeScript loader: the worker gets tsx through execArgv. Built as
 * .js they need none.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { WorkerResult, WorkerTask } from './protocol.js';

export interface WorkerPoolOptions {
  /** The worker module: a path, or a URL such as `new URL('./worker.ts', import.meta.url)`. */
  worker: string | URL;
  minThreads: number;
  maxThreads: number;
  /** Tasks piscina may hold waiting for a thread. */
  maxQueue: number;
  idleTimeoutMs: number;
  /** V8 old-generation limit of each thread. */
  maxOldGenMb?: number;
}

export function createWorkerPool<Task, Result>(options: WorkerPoolOptions): Piscina<Task, Result> {
  const filename = options.worker instanceof URL ? fileURLToPath(options.worker) : options.worker;
  return new Piscina<Task, Result>({
    filename,
    minThreads: options.minThreads,
    maxThreads: options.maxThreads,
    maxQueue: options.maxQueue,
    concurrentTasksPerWorker: 1,
    idleTimeout: options.idleTimeoutMs,
    execArgv: filename.endsWith('.ts') ? ['--import', tsxLoader()] : [],
    ...(options.maxOldGenMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: options.maxOldGenMb } } : {}),
  });
}

/** A module beside this one, as .ts under tsx/vitest and .js once built. */
export function sibling(name: string): URL {
  const own = import.meta.url;
  return new URL(`./${name}${own.endsWith('.ts') ? '.ts' : '.js'}`, own);
}

export interface JobPoolOptions {
  workers: number;
  workerMaxOldGenMb: number;
  /** Worker module; defaults to ./worker.ts or ./worker.js beside this module. */
  workerFile?: string | URL;
}

/** The job pool: `workers` threads, always up; the scheduler hands it at most `workers` tasks at a time. */
export function createJobPool(options: JobPoolOptions): Piscina<WorkerTask, WorkerResult> {
  return createWorkerPool<WorkerTask, WorkerResult>({
    worker: options.workerFile ?? sibling('worker'),
    minThreads: options.workers,
    maxThreads: options.workers,
    // The scheduler hands piscina at most `workers` tasks at a time; its own queue stays empty.
    maxQueue: Number.POSITIVE_INFINITY,
    idleTimeoutMs: Number.POSITIVE_INFINITY,
    maxOldGenMb: options.workerMaxOldGenMb,
  });
}

/** tsx's loader as a file URL: a bare `--import tsx` would resolve from the cwd, which may be anywhere. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
