/**
 * Reads: a job, a page of jobs, a result, a subscription, from the live set while this process
 * holds the job and from the store (through a cache of ended logs) once it has ended; an ended
 * job whose series is not stored gets it recomputed (recompute.ts).
 */
import { JobLog } from './event-log.js';
import type { LiveJob } from './lifecycle.js';
import type { EndedLogCache } from './log-cache.js';
import { seriesAbsent } from './recompute.js';
import { liveRecord, storedRecord, visible } from './records.js';
import type { JobStore, StoredJob, StoredResult } from './store/types.js';
import { Telemetry } from './telemetry.js';
import type { JobRecord, JobResult, ListQuery, Owner, Page, SubscribeOptions, Subscription } from './types.js';

export class JobReads {
  constructor(
    private readonly live: ReadonlyMap<string, LiveJob>,
    private readonly store: JobStore,
    private readonly endedLogs: EndedLogCache,
    /** Rebuilds the series of an ended job whose series is not stored (recompute.ts); absent: served empty. */
    private readonly recompute?: (job: StoredJob, stored: StoredResult) => Promise<JobLog>,
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
      singles: query.singles,
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
      return { job: liveRecord(job, log), series: log.telemetry.view(), summary: job.summary };
    }
    const job = await this.store.get(id);
    if (!job || !visible(job, owner)) return null;
    const log = await this.endedLog(job);
    const telemetry = log ? log.telemetry : Telemetry.empty();
    return { job: storedRecord(job), series: telemetry.view(), summary: job.summary };
  }

  async subscribe(id: string, owner: Owner, options: SubscribeOptions): Promise<Subscription | null> {
    const live = this.live.get(id);
    if (live) return visible(live.job, owner) ? live.log.subscribe(options) : null;
    const job = await this.store.get(id);
    if (!job || !visible(job, owner)) return null;
    // The job may have ended and left the live set while the store was read.
    const again = this.live.get(id);
    if (again) return again.log.subscribe(options);
    const log = await this.endedLog(job);
    if (!log) {
      // Unfinished but not live: only after close(); the events are gone with the process.
      queueMicrotask(() => options.onEnd?.());
      return { close() {} };
    }
    return log.subscribe(options);
  }

  /**
   * Decoded ended logs still held by someone (a subscriber, a result being streamed), whether or
   * not the cache kept them: a log larger than the cache was decoded again for every subscriber,
   * 6 sockets on one large job cost 1.45 GiB (issue 11, defect 3). Now every reader of one ended
   * job shares one decoded copy for as long as any of them holds it.
   */
  private readonly held = new Map<string, WeakRef<JobLog>>();
  private readonly forget = new FinalizationRegistry<string>((id) => {
    if (this.held.get(id)?.deref() === undefined) this.held.delete(id);
  });
  /** Reads of the store under way, by job id: concurrent first readers share one decode. */
  private readonly decoding = new Map<string, Promise<JobLog | null>>();

  /** An ended job's log, from the cache, from another reader, or decoded from the store; null when it has none. */
  private async endedLog(job: StoredJob): Promise<JobLog | null> {
    const { id } = job;
    const cached = this.endedLogs.get(id) ?? this.held.get(id)?.deref();
    if (cached) return cached;
    let decoding = this.decoding.get(id);
    if (!decoding) {
      decoding = this.decode(job).finally(() => this.decoding.delete(id));
      this.decoding.set(id, decoding);
    }
    return decoding;
  }

  private async decode(job: StoredJob): Promise<JobLog | null> {
    const { id } = job;
    const stored = await this.store.getResult(id);
    if (!stored) return null;
    if (this.recompute && seriesAbsent(job, stored)) return this.recompute(job, stored);
    const log = new JobLog(Telemetry.fromBlob(stored.series), stored.nonFinite, stored.done);
    this.endedLogs.put(id, log);
    this.held.set(id, new WeakRef(log));
    this.forget.register(log, id);
    return log;
  }
}
