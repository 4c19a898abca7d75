/** The in-memory store: for tests and for `dataDir: null`. Copies on the way in and out, like a real store. */
import type { JobStatus } from '../../contract/events.js';
import { ROW_OVERHEAD_BYTES } from '../storage.js';
import {
  ENDED,
  type EvictionPolicy,
  emptyCounts,
  type JobStore,
  type StoredJob,
  type StoredResult,
  type StoreListQuery,
} from './types.js';

export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, StoredJob>();
  private readonly results = new Map<string, StoredResult>();
  private closed = false;

  async insert(job: StoredJob): Promise<void> {
    this.open();
    if (this.jobs.has(job.id)) throw new Error(`job ${job.id} exists`);
    this.jobs.set(job.id, structuredClone(job));
  }

  async setRunning(id: string, startedAt: string | null): Promise<void> {
    this.open();
    const job = this.jobs.get(id);
    if (!job) return;
    job.status = startedAt === null ? 'queued' : 'running';
    job.startedAt = startedAt;
  }

  async finish(job: StoredJob, result: StoredResult): Promise<void> {
    this.open();
    if (!this.jobs.has(job.id)) return;
    this.jobs.set(job.id, structuredClone(job));
    // Series bytes are immutable once a job has ended: kept as given, not copied.
    this.results.set(job.id, {
      series: result.series,
      nonFinite: structuredClone(result.nonFinite),
      done: structuredClone(result.done),
    });
  }

  async get(id: string): Promise<StoredJob | null> {
    this.open();
    const job = this.jobs.get(id);
    return job ? structuredClone(job) : null;
  }

  async usageByOwner(): Promise<Map<string | null, number>> {
    this.open();
    const out = new Map<string | null, number>();
    for (const job of this.jobs.values()) {
      const s = this.results.get(job.id)?.series;
      const bytes = ROW_OVERHEAD_BYTES + (s ? s.steps.byteLength + s.values.byteLength + s.hidden.byteLength : 0);
      out.set(job.owner, (out.get(job.owner) ?? 0) + bytes);
    }
    return out;
  }

  async getResult(id: string): Promise<StoredResult | null> {
    this.open();
    const r = this.results.get(id);
    return r ? { series: r.series, nonFinite: structuredClone(r.nonFinite), done: structuredClone(r.done) } : null;
  }

  async list(q: StoreListQuery): Promise<StoredJob[]> {
    this.open();
    const out: StoredJob[] = [];
    for (const job of this.sorted().reverse()) {
      if (out.length >= q.limit) break;
      if (q.before !== undefined && job.id >= q.before) continue;
      if (q.owner !== null && job.owner !== q.owner) continue;
      if (q.status !== undefined && job.status !== q.status) continue;
      if (q.sweepId !== undefined && job.sweepId !== q.sweepId) continue;
      if (q.singles && q.sweepId === undefined && job.sweepId !== null) continue;
      out.push(structuredClone(job));
    }
    return out;
  }

  async unfinished(): Promise<StoredJob[]> {
    this.open();
    return this.sorted()
      .filter((j) => j.status === 'queued' || j.status === 'running')
      .map((j) => structuredClone(j));
  }

  async countByStatus(): Promise<Record<JobStatus, number>> {
    this.open();
    const counts = emptyCounts();
    for (const job of this.jobs.values()) counts[job.status]++;
    return counts;
  }

  async evict(policy: EvictionPolicy): Promise<StoredJob[]> {
    this.open();
    const ended = [...this.jobs.values()]
      .filter((j) => ENDED.includes(j.status))
      .sort((a, b) => cmp(a.endedAt ?? '', b.endedAt ?? '') || cmp(a.id, b.id));
    const gone: StoredJob[] = [];
    let total = this.jobs.size;
    for (const job of ended) {
      const expired = policy.ttlMs !== null && Date.parse(job.endedAt ?? '') < policy.now - policy.ttlMs;
      const tooMany = policy.maxJobs !== null && total > policy.maxJobs;
      if (!expired && !tooMany) continue;
      this.jobs.delete(job.id);
      this.results.delete(job.id);
      gone.push(job);
      total--;
    }
    return gone;
  }

  async checkWritable(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private sorted(): StoredJob[] {
    return [...this.jobs.values()].sort((a, b) => cmp(a.id, b.id));
  }

  private open(): void {
    if (this.closed) throw new Error('the job store is closed');
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
