/**
 * The composition root: every service the app serves is built here, once, from the config, and
 * handed to the routes (src/app.ts → src/http/*). Today's backend is the embedded one (worker
 * threads, SQLite); a distributed backend is chosen here too when it exists, and the routes never
 * know which one they got (docs/runtime.md).
 */
import type { Logger } from 'pino';
import type { AppConfig } from './config.js';
import { type AnalysisPool, createAnalysisPool } from './runtime/analysis.js';
import { defaultLimits, type StorageLimits } from './runtime/storage.js';
import { createSweepService, type SweepService } from './runtime/sweep/service.js';
import type { JobService } from './runtime/types.js';

export interface Services {
  jobs: JobService;
  sweeps: SweepService;
  analysis: AnalysisPool;
  /**
   * Closes everything: the job service first (running jobs get `graceMs`, and the sweep service
   * still records the cells that end meanwhile), then sweeps, then the analysis pool. Idempotent.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

export type ServicesConfig = Pick<
  AppConfig,
  | 'dataDir'
  | 'workers'
  | 'maxQueue'
  | 'maxWorkFlops'
  | 'maxJobBytes'
  | 'jobTtlMs'
  | 'maxJobs'
  | 'workerMaxOldGenMb'
  | 'storeMaxBytes'
  | 'keyQuotaBytes'
> &
  Partial<Pick<AppConfig, 'kernels'>>;

/** Builds and starts every service; resolves once unfinished jobs and sweeps from the last run are resumed. */
export async function createServices(config: ServicesConfig, logger: Logger): Promise<Services> {
  // Loaded here rather than at the top: a process that is handed its services (another backend, a
  // test) never pulls in the embedded runtime, its worker pool and SQLite.
  const { createEmbeddedRuntime } = await import('./runtime/index.js');
  const jobs = await createEmbeddedRuntime({
    dataDir: config.dataDir,
    workers: config.workers,
    maxQueue: config.maxQueue,
    maxWorkFlops: config.maxWorkFlops,
    maxJobBytes: config.maxJobBytes,
    jobTtlMs: config.jobTtlMs,
    maxJobs: config.maxJobs,
    workerMaxOldGenMb: config.workerMaxOldGenMb,
    storage: storageLimits(config),
    kernels: config.kernels ?? 'exact',
    logger: logger.child({ component: 'runtime' }),
  });
  let sweeps: SweepService;
  try {
    sweeps = await createSweepService({
      jobs,
      dataDir: config.dataDir,
      logger: logger.child({ component: 'sweeps' }),
      ttlMs: config.jobTtlMs,
    });
  } catch (err) {
    await jobs.close({ graceMs: 0 });
    throw err;
  }
  const analysis = createAnalysisPool();
  let closing: Promise<void> | null = null;
  return {
    jobs,
    sweeps,
    analysis,
    close(options = {}) {
      closing ??= (async () => {
        await jobs.close({ graceMs: options.graceMs ?? 0 });
        await sweeps.close();
        await analysis.close();
      })();
      return closing;
    },
  };
}

/** The runtime's storage limits from the configuration (runtime/storage.ts): unset → defaults, 0 → none. */
export function storageLimits(
  config: Pick<ServicesConfig, 'dataDir' | 'storeMaxBytes' | 'keyQuotaBytes'>,
): StorageLimits {
  const defaults = defaultLimits(config.dataDir);
  const maxBytes = config.storeMaxBytes === undefined ? defaults.maxBytes : config.storeMaxBytes || null;
  let keyQuotaBytes: number | null;
  if (config.keyQuotaBytes !== undefined) keyQuotaBytes = config.keyQuotaBytes || null;
  else keyQuotaBytes = maxBytes === null ? null : Math.floor(maxBytes / 4);
  return { maxBytes, keyQuotaBytes };
}
