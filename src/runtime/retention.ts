/**
 * Retention: ended jobs older than `jobTtlMs`, or beyond `maxJobs` in all, are deleted from the
 * store (docs/runtime.md, "Retention"). Runs at start, on a timer, and after each end; runs are
 * chained so that two never overlap.
 */
import type { Logger } from 'pino';
import type { JobStore, StoredJob } from './store/types.js';

export interface RetentionPolicy {
  jobTtlMs: number | null;
  maxJobs: number | null;
}

const SWEEP_MS = 60_000;

export class Retention {
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly store: JobStore,
    private readonly policy: RetentionPolicy,
    /** Called with the jobs each run deleted (counts, caches). */
    private readonly onEvicted: (jobs: StoredJob[]) => void,
    private readonly log: Logger,
  ) {}

  /** Runs once now, then every min(ttl, 60 s) when a TTL is set. */
  async start(): Promise<void> {
    await this.enforce();
    const ttl = this.policy.jobTtlMs;
    if (ttl !== null && !this.stopped) {
      this.timer = setInterval(() => void this.enforce(), Math.min(ttl, SWEEP_MS));
      this.timer.unref();
    }
  }

  /** Runs after whatever run is in progress; resolves when this one is done. */
  schedule(): Promise<void> {
    if (this.policy.jobTtlMs === null && this.policy.maxJobs === null) return Promise.resolve();
    this.chain = this.chain.then(() => this.enforce());
    return this.chain;
  }

  /** No more runs; resolves once the one in progress is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.chain;
  }

  private async enforce(): Promise<void> {
    if (this.stopped) return;
    try {
      const gone = await this.store.evict({
        ttlMs: this.policy.jobTtlMs,
        maxJobs: this.policy.maxJobs,
        now: Date.now(),
      });
      if (gone.length > 0) {
        this.onEvicted(gone);
        this.log.debug({ jobs: gone.length }, 'retention deleted ended jobs');
      }
    } catch (err) {
      this.log.error({ err }, 'retention failed');
    }
  }
}
