/**
 * Event logs of recently ended jobs, kept within a byte budget (least recently used go first).
 * Clients that pause and resume a stream resubscribe with `from`, and late subscribers come in
 * bursts: without this each of them would read and decode the job's series from the store again.
 */
import type { JobLog } from './event-log.js';

export class EndedLogCache {
  private readonly entries = new Map<string, { log: JobLog; bytes: number }>();
  private total = 0;

  constructor(private readonly budgetBytes: number) {}

  get(id: string): JobLog | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    // Map order is insertion order: re-inserting marks the entry most recently used.
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.log;
  }

  put(id: string, log: JobLog): void {
    this.delete(id);
    const bytes = log.telemetry.byteSize();
    if (bytes > this.budgetBytes) return;
    this.entries.set(id, { log, bytes });
    this.total += bytes;
    for (const [key, entry] of this.entries) {
      if (this.total <= this.budgetBytes) break;
      this.entries.delete(key);
      this.total -= entry.bytes;
    }
  }

  delete(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.total -= entry.bytes;
  }

  get bytes(): number {
    return this.total;
  }
}
