/**
 * A job's event log and its fan-out. Events are never stored as objects: seq numbers map onto
 * the columnar telemetry (step events), the one non-finite record, and the done event:
 *
 *   seq 0 … a        step events of records 0 … a   (a = the record of the non-finite step)
 *   seq a + 1        the nonfinite event
 *   seq a + 2 …      step events of records a + 1 …
 *   last             done
 *
 * Without a non-finite value, seq = record index. Runs are deterministic, so a re-run after a
 * restart produces the same seq for the same event, and a client resuming with `from` sees each
 * event once.
 */
import type { DoneEvent, JobEvent, NonFiniteInfo } from '../contract/events.js';
import { stepEventAt } from '../engine/index.js';
import { Telemetry } from './telemetry.js';
import type { SubscribeOptions, Subscription } from './types.js';

/** The non-finite event's info and the record index whose step event it follows. */
export interface NonFiniteMark {
  info: NonFiniteInfo;
  afterRecord: number;
}

/** Events delivered to one subscriber before yielding to the event loop. */
const CHUNK = 256;
/** Recently built events kept for other subscribers; must be a power of two. */
const RING = 1024;

export class JobLog {
  telemetry: Telemetry;
  nonFinite: NonFiniteMark | null = null;
  done: DoneEvent | null = null;
  private readonly subscribers = new Set<Subscriber>();
  // Made on the first event built: most jobs in bulk runs are never watched, and an 8 KB array per log
  // (two per job, one kept in the ended-log cache) is garbage the main thread would collect for nobody.
  private ring: (JobEvent | undefined)[] | null = null;
  private cachedView: { from: number; to: number; series: ReturnType<Telemetry['view']> } | null = null;

  constructor(
    telemetry: Telemetry = Telemetry.empty(),
    nonFinite: NonFiniteMark | null = null,
    done: DoneEvent | null = null,
  ) {
    this.telemetry = telemetry;
    this.nonFinite = nonFinite;
    this.done = done;
  }

  /** Number of events available now (seq 0 … available − 1). */
  available(): number {
    return this.eventsBeforeDone() + (this.done ? 1 : 0);
  }

  /** The seq the done event has or will have, given what has been recorded so far. */
  eventsBeforeDone(): number {
    return this.telemetry.length + (this.nonFinite ? 1 : 0);
  }

  /**
   * Live subscribers ask for the same recent seqs one after another: each event is built once and
   * shared through a small ring (bounded memory, whatever the job's length).
   */
  eventAt(seq: number): JobEvent {
    const slot = seq & (RING - 1);
    this.ring ??= new Array(RING);
    const cached = this.ring[slot];
    if (cached !== undefined && cached.seq === seq) return cached;
    const event = this.buildEvent(seq);
    this.ring[slot] = event;
    return event;
  }

  private buildEvent(seq: number): JobEvent {
    const nf = this.nonFinite;
    const before = this.eventsBeforeDone();
    if (seq === before && this.done) return this.done;
    if (nf && seq === nf.afterRecord + 1) return { type: 'nonfinite', seq, ...nf.info };
    const record = nf && seq > nf.afterRecord + 1 ? seq - 1 : seq;
    if (seq < 0 || record >= this.telemetry.length) throw new RangeError(`no event ${seq}`);
    return { ...stepEventAt(this.chunkView(record), record - this.cachedView!.from), seq };
  }

  // Replay asks for consecutive records: one view per CHUNK records keeps event building O(1) each.
  private chunkView(record: number): ReturnType<Telemetry['view']> {
    const v = this.cachedView;
    if (v && record >= v.from && record < v.to && v.to <= this.telemetry.length) return v.series;
    const from = record - (record % CHUNK);
    const to = Math.min(this.telemetry.length, from + CHUNK);
    this.cachedView = { from, to, series: this.telemetry.view(from, to) };
    return this.cachedView.series;
  }

  subscribe(options: SubscribeOptions): Subscription {
    const sub = new Subscriber(this, options);
    this.subscribers.add(sub);
    sub.start();
    return sub;
  }

  /** Call after appending records, the non-finite mark or done. */
  notify(): void {
    for (const sub of this.subscribers) sub.pump();
  }

  /** Ends every subscription without done (shutdown, or a job handed back to the queue). */
  endAll(): void {
    for (const sub of [...this.subscribers]) sub.end();
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** @internal */
  remove(sub: Subscriber): void {
    this.subscribers.delete(sub);
  }
}

class Subscriber implements Subscription {
  private next: number;
  private closed = false;
  private pumping = false;
  private scheduled = false;

  constructor(
    private readonly log: JobLog,
    private readonly options: SubscribeOptions,
  ) {
    this.next = Math.max(0, Math.floor(options.from) || 0);
  }

  /** The first events go out on a later turn, so the caller holds the Subscription before any arrives. */
  start(): void {
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  pump(): void {
    if (this.closed || this.pumping || this.scheduled) return;
    this.pumping = true;
    try {
      let budget = CHUNK;
      while (!this.closed && this.next < this.log.available()) {
        if (budget-- === 0) {
          // A long replay yields so that one subscriber cannot hold the event loop.
          this.scheduled = true;
          setImmediate(() => {
            this.scheduled = false;
            this.pump();
          });
          return;
        }
        const event = this.log.eventAt(this.next);
        this.next++;
        this.options.onEvent(event);
      }
      if (!this.closed && this.log.done && this.next >= this.log.available()) this.end();
    } catch {
      // A subscriber that throws loses its subscription, never the job or the other subscribers.
      try {
        this.end();
      } catch {}
    } finally {
      this.pumping = false;
    }
  }

  end(): void {
    if (this.closed) return;
    this.close();
    this.options.onEnd?.();
  }

  close(): void {
    this.closed = true;
    this.log.remove(this);
  }
}
