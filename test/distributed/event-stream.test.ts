/**
 * Job event streams on the machine's real Redis (a key prefix per run, deleted at the end): seq as
 * the entry id, refusal of events already written (by Redis itself), racing writers, replay,
 * multiplexed live delivery, and expiry after the job ends.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  entryId,
  jobStreamKey,
  readRange,
  type Sequenced,
  StreamReader,
  StreamWriter,
  seqOf,
} from '../../src/runtime/distributed/event-stream.js';
import { deleteKeys, REDIS_URL, redisSkipReason, testKeyPrefix } from './engines.js';

const skip = await redisSkipReason();
const prefix = testKeyPrefix();
let n = 0;
const key = () => jobStreamKey(prefix, `j${n++}`);

interface Ev extends Sequenced {
  type: 'step' | 'done';
  loss: number | string;
}
const ev = (seq: number): Ev => ({ seq, type: 'step', loss: seq % 7 === 3 ? 'NaN' : Math.sin(seq) });
const evs = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ev(from + i));

const connections: Redis[] = [];
const connect = () => {
  const r = new Redis(REDIS_URL, { lazyConnect: true });
  connections.push(r);
  return r;
};

describe.skipIf(Boolean(skip))(`Redis event streams${skip ? ` (${skip})` : ''}`, () => {
  let redis: Redis;
  let writer: StreamWriter;
  beforeAll(async () => {
    redis = connect();
    await redis.connect();
    writer = new StreamWriter(redis);
  });
  afterAll(async () => {
    if (redis) await deleteKeys(redis, prefix);
    for (const c of connections) c.disconnect();
  });

  it('writes seq s as entry id <s+1>-0 above a header entry 0-1, and replays from any seq', async () => {
    const k = key();
    await writer.create(k);
    expect(await writer.append(k, evs(0, 10))).toEqual({ written: 10, refused: 0, missing: false });
    const raw = await redis.xrange(k, '-', '+');
    expect(raw.map(([id]) => id)).toEqual(['0-1', ...evs(0, 10).map((e) => entryId(e.seq))]);
    expect(raw.map(([id]) => seqOf(id))).toEqual([null, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await readRange<Ev>(redis, k, 0)).events).toEqual(evs(0, 10));
    expect((await readRange<Ev>(redis, k, 7)).events).toEqual(evs(7, 10));
    expect((await readRange<Ev>(redis, k, 3, 2)).events).toEqual(evs(3, 5));
    expect(await readRange<Ev>(redis, k, 10)).toEqual({ events: [], missing: false });
  });

  it('a re-run writing events already there is refused by Redis, and only the new ones land', async () => {
    const k = key();
    await writer.create(k);
    await writer.append(k, evs(0, 10));
    expect(await writer.append(k, evs(0, 15))).toEqual({ written: 5, refused: 10, missing: false });
    // The refusal is Redis's own: the same XADD, issued directly, errors.
    await expect(redis.xadd(k, entryId(4), 'e', '{}')).rejects.toThrow(/equal or smaller than the target stream top/);
    const seqs = (await readRange<Ev>(redis, k, 0, 100)).events.map((e) => e.seq);
    expect(seqs).toEqual(evs(0, 15).map((e) => e.seq));
  });

  it('two writers racing on the same seqs: each seq lands once, no gap, whoever wins', async () => {
    const k = key();
    await writer.create(k);
    const [a, b] = [connect(), connect()];
    await Promise.all([a.connect(), b.connect()]);
    const total = 300;
    // Each writer appends the whole run in its own batch sizes, one batch after another.
    const run = async (w: StreamWriter, batch: number) => {
      const sum = { written: 0, refused: 0 };
      for (let s = 0; s < total; s += batch) {
        const r = await w.append(k, evs(s, Math.min(total, s + batch)));
        sum.written += r.written;
        sum.refused += r.refused;
      }
      return sum;
    };
    const [ra, rb] = await Promise.all([run(new StreamWriter(a), 7), run(new StreamWriter(b), 3)]);
    expect(ra.written + rb.written).toBe(total);
    expect(ra.refused + rb.refused).toBe(total);
    const seqs: number[] = [];
    for (let from = 0; ; ) {
      const page = await readRange<Ev>(redis, k, from, 100);
      if (page.events.length === 0) break;
      seqs.push(...page.events.map((e) => e.seq));
      from = seqs[seqs.length - 1] + 1;
    }
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i));

    // The bare race: the same id from two connections at once; exactly one XADD succeeds.
    const results = await Promise.allSettled([
      a.xadd(k, entryId(total), 'e', '1'),
      b.xadd(k, entryId(total), 'e', '2'),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('writes never create a stream: one never created, or expired after its job ended, stays gone', async () => {
    const k = key();
    expect(await writer.append(k, evs(0, 3))).toEqual({ written: 0, refused: 0, missing: true });
    expect(await redis.exists(k)).toBe(0);
    await writer.create(k);
    await writer.append(k, evs(0, 3));
    await writer.expire(k, 30);
    await new Promise((r) => setTimeout(r, 120));
    expect(await readRange<Ev>(redis, k, 0)).toEqual({ events: [], missing: true });
    // A stalled run still writing after the end cannot bring the stream back.
    expect((await writer.append(k, evs(3, 6))).missing).toBe(true);
    expect(await redis.exists(k)).toBe(0);
  });

  it('live: subscribers on one multiplexed connection get every seq once, in order, from their `from`', async () => {
    const blocking = connect();
    await blocking.connect();
    const reader = new StreamReader<Ev>(redis, blocking);
    const other = connect();
    await other.connect();
    const w = new StreamWriter(other);
    const keys = [key(), key(), key()];
    for (const k of keys) await w.create(k);
    const total = 1200;
    const got = new Map<string, number[]>();
    const subscribe = (name: string, k: string, from: number) => {
      got.set(name, []);
      return reader.subscribe(k, from, {
        onEvents: (es) => got.get(name)!.push(...es.map((e) => e.seq)),
        onMissing() {},
      });
    };
    // Two subscribers before anything is written; the others join while the writer is under way.
    await subscribe('a0', keys[0], 0);
    await subscribe('b0', keys[1], 0);
    const writing = (async () => {
      for (let s = 0; s < total; s += 50) {
        for (const k of keys) await w.append(k, evs(s, s + 50));
        await new Promise((r) => setImmediate(r));
      }
    })();
    while ((await redis.xlen(keys[0])) < 400) await new Promise((r) => setTimeout(r, 2));
    await subscribe('a-late', keys[0], 0);
    await subscribe('c-from', keys[2], 777);
    await writing;
    const expected = (from: number) => Array.from({ length: total - from }, (_, i) => from + i);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && [...got.values()].some((xs) => xs.at(-1) !== total - 1))
      await new Promise((r) => setTimeout(r, 10));
    expect(got.get('a0')).toEqual(expected(0));
    expect(got.get('b0')).toEqual(expected(0));
    expect(got.get('a-late')).toEqual(expected(0));
    expect(got.get('c-from')).toEqual(expected(777));
    expect(reader.size).toBe(4);
    await reader.close();
  });

  it('unsubscribing stops delivery; a stream that expires under a subscriber is reported missing', async () => {
    const blocking = connect();
    await blocking.connect();
    const reader = new StreamReader<Ev>(redis, blocking, 50);
    const [k1, k2] = [key(), key()];
    await writer.create(k1);
    await writer.create(k2);
    const seen: number[] = [];
    let missing = 0;
    const stop = await reader.subscribe(k1, 0, {
      onEvents: (es) => seen.push(...es.map((e) => e.seq)),
      onMissing() {},
    });
    await reader.subscribe(k2, 0, {
      onEvents() {},
      onMissing: () => {
        missing++;
      },
    });
    await writer.append(k1, evs(0, 5));
    while (seen.length < 5) await new Promise((r) => setTimeout(r, 5));
    stop();
    await writer.append(k1, evs(5, 10));
    await writer.expire(k2, 10);
    const deadline = Date.now() + 5000;
    while (missing === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(missing).toBe(1);
    expect(reader.size).toBe(0);
    // Subscribing to a stream already gone says so at once.
    let gone = false;
    await reader.subscribe(key(), 0, { onEvents() {}, onMissing: () => (gone = true) });
    expect(gone).toBe(true);
    await reader.close();
  });
});
