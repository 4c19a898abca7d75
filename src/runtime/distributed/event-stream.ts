/**
 * Live events of the distributed backend on Redis Streams (docs/scaling.md): one stream per job (and
 * per sweep), an event per stream entry, the event's seq in the entry's id.
 *
 * Entry ids. Event `seq` is written as `<seq + 1>-0`; the stream is created at admission with a
 * header entry `0-1`. Why:
 * - Redis refuses an XADD whose explicit id is not above the stream's top (and refuses `0-0` itself,
 *   hence the + 1). So a writer re-running a job cannot write an event that is already there: the
 *   server refuses it, whatever the writers do, and a reader sees each seq at most once.
 * - With the seq in the id's first part, the id's "incomplete" form is the seq + 1 itself: replay from
 *   `from` is `XRANGE key <from + 1> +`, and the entry id reads as "event number n".
 * - It leaves the ids `0-1 … 0-n` below every event: room for the header entry that creates the
 *   stream at admission, so that every event write can use NOMKSTREAM (below).
 *
 * Exactly once, no gap. Each writer appends its events in seq order on one connection (pipelined
 * commands execute in order), each write issued after the previous one. When a write of seq s runs,
 * the writer's s − 1 has been either written or refused because the top was already ≥ s − 1; the top
 * never goes down; so a write succeeds only as s = top + 1. By induction the stream always holds
 * seqs 0 … top with no gap, each once, however many writers race (a stalled job's first run still
 * writing while its re-run starts from seq 0: the re-run's events are refused until it overtakes).
 * Runs are deterministic (the exact kernels), so whichever run wrote a seq, its event is the same.
 *
 * End of a job. Once its result is committed to the store, `expire` gives the stream a grace period
 * (PEXPIRE; live readers still draining it read on) and Redis deletes it. Writes use NOMKSTREAM, so
 * a stalled run that is still writing afterwards cannot bring the stream back: its writes return
 * `missing`, and it stops. Reads from `from` after that are the store's replay (the result's series
 * rebuilds every event, src/runtime/event-log.ts); `range`/`subscribe` say `missing` so the caller
 * knows to go there.
 *
 * Live delivery. One StreamReader per process multiplexes every live subscriber onto one dedicated
 * blocking connection: `XREAD BLOCK 0 STREAMS k1 … kn id1 … idn`, re-issued when the set of streams
 * changes (the pending XREAD is interrupted with CLIENT UNBLOCK) and every 5 s of quiet, to notice a
 * stream that expired under a subscriber. bench/streams.ts measures it
 * against a blocking connection per subscriber.
 */
import type { Redis } from 'ioredis';

/** The field an entry's event is stored under (JSON). */
const FIELD = 'e';
const HEADER_ID = '0-1';
/** Entries per XRANGE page and per XREAD round. */
export const PAGE = 512;
/**
 * A live XREAD waits this long before answering empty; after a quiet round the reader checks that
 * its streams still exist (a stream that expired under a subscriber is reported, not waited on).
 */
const IDLE_CHECK_MS = 5000;

/** Stream keys under a prefix (one prefix per deployment, or per test run). */
export function jobStreamKey(prefix: string, jobId: string): string {
  return `${prefix}job:${jobId}:events`;
}

export function sweepStreamKey(prefix: string, sweepId: string): string {
  return `${prefix}sweep:${sweepId}:events`;
}

export const entryId = (seq: number): string => `${seq + 1}-0`;

/** The seq an entry id carries; null for the header (and any id below the first event). */
export function seqOf(id: string): number | null {
  const dash = id.indexOf('-');
  const ms = Number(dash < 0 ? id : id.slice(0, dash));
  return ms >= 1 ? ms - 1 : null;
}

export interface Sequenced {
  seq: number;
}

export interface AppendResult {
  /** Events this call added. */
  written: number;
  /** Events refused because the stream already had them (another run wrote them first). */
  refused: number;
  /** True when the stream is gone (the job ended and its stream expired): stop writing. */
  missing: boolean;
}

const REFUSED = /equal or smaller than the target stream top item/;

export class StreamWriter {
  constructor(private readonly redis: Redis) {}

  /** Creates a job's (or sweep's) stream, empty of events; called once, at admission. */
  async create(key: string, meta: Record<string, string> = {}): Promise<void> {
    const fields = Object.entries({ created: new Date().toISOString(), ...meta }).flat();
    try {
      await this.redis.xadd(key, HEADER_ID, ...fields);
    } catch (err) {
      // Created already (an admission retried): the header is there.
      if (!REFUSED.test((err as Error).message)) throw err;
    }
  }

  /** Appends events in seq order (ascending); see the module comment for what is refused. */
  async append(key: string, events: readonly Sequenced[]): Promise<AppendResult> {
    const out: AppendResult = { written: 0, refused: 0, missing: false };
    if (events.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const e of events) pipeline.xadd(key, 'NOMKSTREAM', entryId(e.seq), FIELD, JSON.stringify(e));
    const replies = (await pipeline.exec()) ?? [];
    for (const [err, id] of replies) {
      if (err) {
        if (!REFUSED.test(err.message)) throw err;
        out.refused++;
      } else if (id === null) out.missing = true;
      else out.written++;
    }
    return out;
  }

  /** After the job's result is committed: the stream goes in `graceMs`. */
  async expire(key: string, graceMs: number): Promise<void> {
    await this.redis.pexpire(key, graceMs);
  }
}

export interface RangeResult<E> {
  events: E[];
  /** The stream does not exist (never created, or expired after its job ended). */
  missing: boolean;
}

type Entry = [id: string, fields: string[]];

function decode<E>(entries: Entry[]): E[] {
  const out: E[] = [];
  for (const [id, fields] of entries) {
    if (seqOf(id) === null) continue;
    const i = fields.indexOf(FIELD);
    if (i >= 0 && i % 2 === 0) out.push(JSON.parse(fields[i + 1]) as E);
  }
  return out;
}

/** Events with seq ≥ from, at most `count` (XRANGE). */
export async function readRange<E extends Sequenced>(
  redis: Redis,
  key: string,
  from: number,
  count = PAGE,
): Promise<RangeResult<E>> {
  const [entries, exists] = await redis
    .multi()
    .xrange(key, entryId(Math.max(0, from)), '+', 'COUNT', count)
    .exists(key)
    .exec()
    .then((r) => (r ?? []).map(([err, v]) => (err ? Promise.reject(err) : v)) as [Entry[], number]);
  return { events: decode<E>(entries), missing: exists === 0 };
}

export interface StreamSubscriber<E> {
  /** Events in seq order, each once, none before `from`. */
  onEvents(events: E[]): void;
  /** The stream does not exist (any more): read the rest from the store. */
  onMissing(): void;
}

interface Live<E> {
  key: string;
  /** Last seq delivered. */
  after: number;
  subscriber: StreamSubscriber<E>;
}

/**
 * A process's live reader: every subscriber's stream on one blocking connection. `subscribe`
 * catches up with XRANGE on the command connection, then joins the multiplexed XREAD.
 */
export class StreamReader<E extends Sequenced = Sequenced> {
  private readonly live = new Set<Live<E>>();
  private blockedId: number | null = null;
  private running = true;
  /** The set of subscribers changed since the current XREAD was issued. */
  private dirty = false;
  private wake: (() => void) | null = null;
  private readonly loop: Promise<void>;
  /** Rounds of XREAD issued (for tests and metrics). */
  rounds = 0;

  /**
   * @param redis  commands (XRANGE, CLIENT UNBLOCK); shared with the rest of the process.
   * @param blocking  a connection of its own, used for nothing else.
   * @param idleCheckMs  how long a quiet XREAD waits before the reader checks its streams exist.
   */
  constructor(
    private readonly redis: Redis,
    private readonly blocking: Redis,
    private readonly idleCheckMs = IDLE_CHECK_MS,
  ) {
    this.loop = this.run();
  }

  /** Delivers events of `key` from seq `from` on, until the returned function is called. */
  async subscribe(key: string, from: number, subscriber: StreamSubscriber<E>): Promise<() => void> {
    let after = Math.max(0, from) - 1;
    for (;;) {
      const page = await readRange<E>(this.redis, key, after + 1);
      if (page.events.length) {
        after = page.events[page.events.length - 1].seq;
        subscriber.onEvents(page.events);
      }
      if (page.missing) {
        subscriber.onMissing();
        return () => {};
      }
      if (page.events.length < PAGE) break;
    }
    const live: Live<E> = { key, after, subscriber };
    this.live.add(live);
    this.interrupt();
    return () => {
      if (this.live.delete(live)) this.interrupt();
    };
  }

  /** Subscribers attached now. */
  get size(): number {
    return this.live.size;
  }

  async close(): Promise<void> {
    this.running = false;
    this.live.clear();
    this.interrupt();
    await this.loop;
  }

  /** Makes the loop re-read its set of streams. */
  private interrupt(): void {
    this.dirty = true;
    if (this.wake) {
      const wake = this.wake;
      this.wake = null;
      wake();
      return;
    }
    void this.unblock();
  }

  /**
   * Ends the pending XREAD now (it answers as a timeout; the loop re-issues it with the new set). An
   * XREAD sent but not yet blocking in Redis is not unblocked: try again until the round has ended.
   */
  private async unblock(): Promise<void> {
    const round = this.rounds;
    while (this.blockedId !== null && this.rounds === round && this.dirty) {
      const n = await this.redis.client('UNBLOCK', this.blockedId).catch(() => 0);
      if (n === 1) return;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  private async run(): Promise<void> {
    const clientId = (await this.blocking.client('ID')) as number;
    while (this.running) {
      if (this.live.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      this.dirty = false;
      // Per stream, the lowest position any of its subscribers is at.
      const cursor = new Map<string, number>();
      for (const l of this.live) cursor.set(l.key, Math.min(cursor.get(l.key) ?? l.after, l.after));
      const keys = [...cursor.keys()];
      const ids = keys.map((k) => entryId(cursor.get(k)!));
      let reply: [string, Entry[]][] | null;
      this.blockedId = clientId;
      this.rounds++;
      try {
        reply = (await this.blocking.xread('COUNT', PAGE, 'BLOCK', this.idleCheckMs, 'STREAMS', ...keys, ...ids)) as
          | [string, Entry[]][]
          | null;
      } catch {
        // Connection lost: ioredis reconnects; read again after a pause rather than spin.
        if (this.running) await new Promise((r) => setTimeout(r, 100));
        continue;
      } finally {
        this.blockedId = null;
      }
      if (!reply) {
        if (!this.dirty) await this.dropMissing(keys);
        continue;
      }
      for (const [key, entries] of reply) {
        const events = decode<E>(entries);
        if (events.length === 0) continue;
        for (const l of this.live) {
          if (l.key !== key) continue;
          const fresh = events.filter((e) => e.seq > l.after);
          if (fresh.length === 0) continue;
          l.after = fresh[fresh.length - 1].seq;
          l.subscriber.onEvents(fresh);
        }
      }
    }
  }

  /** After a quiet round: subscribers of streams that no longer exist are told, and dropped. */
  private async dropMissing(keys: string[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const k of keys) pipeline.exists(k);
    const replies = (await pipeline.exec().catch(() => null)) ?? [];
    const gone = new Set(keys.filter((_, i) => replies[i]?.[0] === null && replies[i]?.[1] === 0));
    for (const l of this.live) {
      if (!gone.has(l.key)) continue;
      this.live.delete(l);
      l.subscriber.onMissing();
    }
  }
}
