/**
 * `npm run bench:streams`: live delivery from Redis Streams to the API process, two ways:
 *
 *   mux        one StreamReader per process: every subscriber's stream on one blocking connection
 *              (src/runtime/distributed/event-stream.ts);
 *   dedicated  a blocking connection per subscriber, each running its own XREAD BLOCK loop.
 *
 * A writer in a child process (standing in for a worker process) appends one event at a time,
 * round-robin over S streams, at a fixed total rate; each event carries its write time, and the
 * parent (standing in for an API process) records the time from XADD to delivery to the subscriber.
 * Reported per mode and S: p50/p99/max latency, Redis connections used, and the parent's CPU time
 * per event delivered.
 *
 * Then cancellation (src/runtime/distributed/cancel.ts): a child process (an API process) cancels
 * 200 jobs one every 10 ms; the parent (a worker process) watches them all and records when each
 * one's stop handler runs: p50/p99/max from the cancel call to the handler.
 *
 *   npm run bench:streams                       # S = 20 and 200, 2,000 events/s, 3 s each
 *   npm run bench:streams -- --rate 5000 --seconds 2
 *
 * REDIS_URL (default redis://127.0.0.1:6379); keys live under a random prefix, deleted at the end.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { CancelBus } from '../src/runtime/distributed/cancel.js';
import {
  entryId,
  jobStreamKey,
  type Sequenced,
  StreamReader,
  StreamWriter,
  seqOf,
} from '../src/runtime/distributed/event-stream.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Ev extends Sequenced {
  t: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

// CLOCK_MONOTONIC: one clock for the whole machine, so times compare across the two processes.
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Child: writes `total` events round-robin over the keys at `rate` per second. */
async function write(keys: string[], rate: number, total: number): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const w = new StreamWriter(redis);
  const seq = new Map(keys.map((k) => [k, 0]));
  const start = now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const k = keys[i % keys.length];
    const s = seq.get(k)!;
    seq.set(k, s + 1);
    await w.append(k, [{ seq: s, t: now() } as Ev]);
  }
  redis.disconnect();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function runMode(mode: 'mux' | 'dedicated', streams: number, rate: number, seconds: number) {
  const prefix = `gl-bench:${randomBytes(4).toString('hex')}:`;
  const keys = Array.from({ length: streams }, (_, i) => jobStreamKey(prefix, `s${i}`));
  const admin = new Redis(REDIS_URL);
  const writer = new StreamWriter(admin);
  for (const k of keys) await writer.create(k);
  const total = rate * seconds;
  const latencies: number[] = [];
  let delivered = 0;
  const onEvents = (es: Ev[]) => {
    const t = now();
    for (const e of es) latencies.push(t - e.t);
    delivered += es.length;
  };
  const connections: Redis[] = [admin];
  const stops: (() => void)[] = [];
  let reader: StreamReader<Ev> | null = null;
  if (mode === 'mux') {
    const blocking = new Redis(REDIS_URL);
    connections.push(blocking);
    reader = new StreamReader<Ev>(admin, blocking);
    for (const k of keys) stops.push(await reader.subscribe(k, 0, { onEvents, onMissing() {} }));
  } else {
    let running = true;
    for (const k of keys) {
      const c = new Redis(REDIS_URL);
      connections.push(c);
      void (async () => {
        let after = -1;
        while (running) {
          const reply = (await c.xread('COUNT', 512, 'BLOCK', 1000, 'STREAMS', k, entryId(after)).catch(() => null)) as
            | [string, [string, string[]][]][]
            | null;
          if (!reply) continue;
          const es: Ev[] = [];
          for (const [id, fields] of reply[0][1]) if (seqOf(id) !== null) es.push(JSON.parse(fields[1]) as Ev);
          if (es.length) {
            after = es[es.length - 1].seq;
            onEvents(es);
          }
        }
      })();
    }
    stops.push(() => {
      running = false;
    });
  }
  const cpu = process.cpuUsage();
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--write'], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  child.stdin.end(JSON.stringify({ keys, rate, total }));
  await new Promise((r) => child.on('exit', r));
  const deadline = Date.now() + 10_000;
  while (delivered < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const used = process.cpuUsage(cpu);
  for (const stop of stops) stop();
  await reader?.close();
  let deleted = 0;
  for (const k of keys) deleted += await admin.del(k);
  for (const c of connections) c.disconnect();
  latencies.sort((a, b) => a - b);
  return {
    mode,
    streams,
    events: total,
    delivered,
    connections: connections.length - 1,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1],
    cpuUsPerEvent: (used.user + used.system) / Math.max(1, delivered),
    deleted,
  };
}

/** Child: cancels each id in turn, every 10 ms; prints when each cancel call began. */
async function cancelAll(prefix: string, ids: string[]): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const sub = new Redis(REDIS_URL);
  const bus = new CancelBus(redis, sub, { prefix });
  const sent: Record<string, number> = {};
  for (const id of ids) {
    sent[id] = now();
    await bus.cancel(id);
    await new Promise((r) => setTimeout(r, 10));
  }
  bus.close();
  redis.disconnect();
  sub.disconnect();
  process.stdout.write(JSON.stringify(sent));
}

async function runCancel(count: number) {
  const prefix = `gl-bench:${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(REDIS_URL);
  const sub = new Redis(REDIS_URL);
  const bus = new CancelBus(redis, sub, { prefix });
  const ids = Array.from({ length: count }, (_, i) => `job${i}`);
  const received = new Map<string, number>();
  for (const id of ids) await bus.watch(id, () => received.set(id, now()));
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--cancel'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(JSON.stringify({ prefix, ids }));
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  await new Promise((r) => child.on('exit', r));
  const deadline = Date.now() + 5000;
  while (received.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const sent = JSON.parse(out) as Record<string, number>;
  const latencies = ids.filter((id) => received.has(id)).map((id) => received.get(id)! - sent[id]);
  latencies.sort((a, b) => a - b);
  bus.close();
  for (const id of ids) await redis.del(`${prefix}cancel:${id}`);
  redis.disconnect();
  sub.disconnect();
  return {
    count,
    stopped: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1)!,
  };
}

if (process.argv.includes('--cancel')) {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const { prefix, ids } = JSON.parse(input);
  await cancelAll(prefix, ids);
} else if (process.argv.includes('--write')) {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const { keys, rate, total } = JSON.parse(input);
  await write(keys, rate, total);
} else {
  const rate = arg('--rate', 2000);
  const seconds = arg('--seconds', 3);
  console.log(`Redis Streams live delivery, ${rate} events/s for ${seconds} s, writer in another process`);
  console.log('mode       streams  delivered  conns   p50 ms   p99 ms   max ms  parent CPU µs/event');
  for (const streams of [20, 200]) {
    for (const mode of ['mux', 'dedicated'] as const) {
      const r = await runMode(mode, streams, rate, seconds);
      console.log(
        `${r.mode.padEnd(10)} ${String(r.streams).padStart(7)}  ${`${r.delivered}/${r.events}`.padStart(9)}  ${String(
          r.connections,
        ).padStart(5)}  ${r.p50.toFixed(2).padStart(7)}  ${r.p99.toFixed(2).padStart(7)}  ${r.max
          .toFixed(2)
          .padStart(7)}  ${r.cpuUsPerEvent.toFixed(0).padStart(19)}`,
      );
    }
  }
  const c = await runCancel(200);
  console.log('\ncancellation, API process → worker process (cancel call → stop handler)');
  console.log(
    `stopped ${c.stopped}/${c.count}  p50 ${c.p50.toFixed(2)} ms  p99 ${c.p99.toFixed(2)} ms  max ${c.max.toFixed(2)} ms`,
  );
}
