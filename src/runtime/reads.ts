/**
 * Reads: a job, a page of jobs, a result, a subscription, from the live set while this process
 * holds the job and from the store (through a cache of ended logs) once it has ended.
 */
import { seriesToJson } from '../engine/index.js';
import { JobLog } from './event-log.js';
import type { LiveJob } from './lifecycle.js';
import type { EndedLogCache } from './log-cache.js';
import { liveRecord, storedRecord, visible } from './records.js';
import type { JobStore } from './store/types.js';
import { Telemetry } from './telemetry.js';
import type { JobRecord, JobResult, ListQuery, Owner, Page, SubscribeOptions, Subscription } from './types.js';

export class JobReads {
  constructor(
    private readonly live: ReadonlyMap<string, LiveJob>,
    private readonly store: JobStore,
    private readonly endedLogs: EndedLogCache,
  ) {}

  async get(id: string, owner: Owner): Promise<JobRecord | null> {
    const live = this.live.get(id);
    if (live) return visible(live.job, owner) ? liveRecord(live.job, live.log) : null;
    const job = await this.store.get(id);
    return job && visible(job, owner) ? storedRecord(job) : null;
  }

  async list(query: ListQuery): Promise<Page<JobRecord>> {
    const limit = Math.max(1, Math.min(query.limit, 1000));
    const jobs = await this.store.list({
      owner: query.owner,
      status: query.status,
      sweepId: query.sweepId,
      before: query.cursor,
      limit: limit + 1,
    });
    const more = jobs.length > limit;
    const items = jobs.slice(0, limit).map((job) => {
      const live = this.live.get(job.id);
      return live ? liveRecord(live.job, live.log) : storedRecord(job);
    });
    return { items, nextCursor: more ? items[items.length - 1].id : null };
  }

  async result(id: string, owner: Owner): Promise<JobResult | null> {
    const live = this.live.get(id);
    if (live) {
      if (!visible(live.job, owner)) return null;
      const { job, log } = live;
      return { job: liveRecord(job, log), series: seriesToJson(log.telemetry.view()), summary: job.summary };
    }
    const job = await this.store.get(id);
    if (!job || !visible(job, owner)) return null;
    const log = await this.endedLog(id);
    const telemetry = log ? log.telemetry : Telemetry.empty();
    return { job: storedRecord(job), series: seriesToJson(telemetry.view()), summary: job.summary };
  }

  async subscribe(id: string, owner: Owner, options: SubscribeOptions): Promise<Subscription | null> {
    const live = this.live.get(id);
    if (live) return visible(live.job, owner) ? live.log.subscribe(options) : null;
    const job = await this.store.get(id);
    if (!job || !visible(job, owner)) return null;
    // The job may have ended and left the live set while the store was read.
    const again = this.live.get(id);
    if (again) return again.log.subscribe(options);
    const log = await this.endedLog(id);
    if (!log) {
      // Unfinished but not live: only after close(); the events are gone with the process.
      queueMicrotask(() => options.onEnd?.());
      return { close() {} };
    }
    return log.subscribe(options);
  }

  /** An ended job's log, from the cache or decoded from the store; null when it has none. */
  private async endedLog(id: string): Promise<JobLog | null> {
    const cached = this.endedLogs.get(id);
    if (cached) return cached;
    const stored = await this.store.getResult(id);
    if (!stored) return null;
    const log = new JobLog(Telemetry.fromBlob(stored.series), stored.nonFinite, stored.done);
    this.endedLogs.put(id, log);
    return log;
  }
}
