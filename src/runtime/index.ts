/**
 * The runtime's entry: `createEmbeddedRuntime(config)` builds the embedded job service (in-process
 * fair queue, piscina worker pool, SQLite or in-memory store) and resumes the jobs a previous
 * process left unfinished.
 */
import type { RuntimeConfig } from './config.js';
import { EmbeddedJobService } from './service.js';
import { MemoryJobStore } from './store/memory.js';
import { SqliteJobStore } from './store/sqlite.js';

export type { RuntimeConfig } from './config.js';
export { EmbeddedJobService } from './service.js';
export type { JobStore } from './store/types.js';
export * from './types.js';

/** Starts the embedded runtime; resolves once unfinished jobs from the last run are queued again. */
export async function createEmbeddedRuntime(config: RuntimeConfig): Promise<EmbeddedJobService> {
  const store =
    config.dataDir === null ? new MemoryJobStore() : new SqliteJobStore(config.dataDir, { logger: config.logger });
  try {
    return await EmbeddedJobService.start(config, store);
  } catch (err) {
    await store.close();
    throw err;
  }
}
