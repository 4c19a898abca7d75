/**
 * Load benchmark (`npm run bench:load`), issue 11: the real server entry in a child process
 * (SQLite store in a temp directory, WORKERS=2), driven on loopback for `--seconds` (60) by
 *   - `--rate` (20) job submissions per second (W1: linear depth 10, 1,000 steps, every step recorded),
 *   - `--streams` (100) NDJSON clients, each following the newest job from seq 0 to `done` and then
 *     the next one, checking every seq arrives exactly once (lost / repeated events),
 *   - a large result read (JSON, then CSV, alternately) every `--large-every` (10) seconds, from a
 *     job of `--large-steps` (200,000) recorded steps run before the load starts,
 *   - /healthz every 100 ms, and /metrics every 5 s for the event-loop delay (prom-client's
 *     `nodejs_eventloop_lag_p99_seconds`, a histogram reset at each scrape: one p99 per 5 s window).
 * Then the paused-readers case: `--paused` (80) readers of the large job, half WebSocket, half
 * NDJSON, that never read; the server's RSS is sampled while they sit there.
 * Reports submit p50/p99, /healthz p99/max, event-loop delay p99 (worst and median window), errors,
 * lost/repeated events, result reads, peak RSS (VmHWM); prints a table, then one JSON line.
 *
 *   npm run bench:load -- [--seconds 60] [--rate 20] [--streams 100] [--paused 80]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '20' },
    streams: { type: 'string', default: '100' },
    workers: { type: 'string', default: '2' },
    'large-steps': { type: 'string', default: '200000' },
    'large-every': { type: 'string', default: '10' },
    paused: { type: 'string', default: '80' },
    'paused-seconds': { type: 'string', default: '15' },
  },
});
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const STREAMS = Number(args.streams);
const WORKERS = Number(args.workers);
const LARGE_STEPS = Number(args['large-steps']);
const LARGE_EVERY_S = Number(args['large-every']);
const PAUSED = Number(args.paused);
const PAUSED_S = Number(args['paused-seconds']);

const W1 = JSON.stringify({
  name: 'W1 textbook',
  network: { kind: 'linear', depth: 10, width: 2, bias: false, init: { scheme: 'scaled-identity', gain: 1.5 } },
  training: { steps: 1000, batchSize: 32, learningRate: 1e-4, optimizer: 'sgd' },
  mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
  record: { every: 1, layers: true },
});
const LARGE = JSON.stringify({
  name: 'large',
  network: { kind: 'linear', depth: 2, width: 2, init: { scheme: 'scaled-identity', gain: 1 } },
  training: { steps: LARGE_STEPS, batchSize: 4, learningRate: 1e-6 },
  record: { every: 1, layers: true },
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(
  url: string,
  init: { method?: string; body?: string } = {},
): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: init.method ?? 'GET',
        agent,
        headers: init.body
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(init.body) }
          : {},
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(parts).toString(),
            ms: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Reads a body without keeping it: bytes and time. */
function drain(url: string): Promise<{ status: number; bytes: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.byteLength;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - started }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      WORKERS: String(WORKERS),
      // The default level: every request is logged, as in production.
      LOG_LEVEL: 'info',
      RATE_LIMIT_MAX: '1000000000',
      SHUTDOWN_GRACE_S: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'gradient lab listening') {
            child.stdout!.off('data', onData);
            child.stdout!.resume();
            resolve(`http://127.0.0.1:${entry.port}`);
          }
        } catch {}
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  });
  return { child, url };
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Follows a job's NDJSON stream from seq 0 to done; counts events lost (gaps) and repeated. */
function follow(url: string, id: string): Promise<{ events: number; lost: number; repeated: number; ok: boolean }> {
  return new Promise((resolve) => {
    let expected = 0;
    let lost = 0;
    let repeated = 0;
    let events = 0;
    let done = false;
    let buffered = '';
    const req = http.get(`${url}/v1/jobs/${id}/events?from=0`, { agent }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve({ events, lost, repeated, ok: false });
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.length === 0) continue;
          const e = JSON.parse(line) as { seq: number; type: string };
          events++;
          if (e.seq < expected) repeated++;
          else if (e.seq > expected) lost += e.seq - expected;
          expected = Math.max(expected, e.seq + 1);
          if (e.type === 'done') done = true;
        }
      });
      res.on('end', () => resolve({ events, lost, repeated, ok: done }));
      res.on('error', () => resolve({ events, lost, repeated, ok: false }));
    });
    req.on('error', () => resolve({ events, lost, repeated, ok: false }));
  });
}

async function eventLoopLag(url: string): Promise<{ p99: number; max: number } | null> {
  const r = await request(`${url}/metrics`);
  const get = (name: string) => {
    const m = new RegExp(`^gradient_lab_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(r.text);
    return m ? Number(m[1]) * 1000 : Number.NaN;
  };
  return r.status === 200 ? { p99: get('p99'), max: get('max') } : null;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gl-load-'));
  const { child, url } = await startServer(dataDir);
  const pid = child.pid!;
  const errors: Record<string, number> = {};
  const fail = (kind: string) => {
    errors[kind] = (errors[kind] ?? 0) + 1;
  };
  try {
    // The large job, run to its end before the load starts.
    const large = JSON.parse((await request(`${url}/v1/jobs`, { method: 'POST', body: LARGE })).text) as { id: string };
    for (;;) {
      const j = JSON.parse((await request(`${url}/v1/jobs/${large.id}`)).text) as { status: string };
      if (j.status !== 'queued' && j.status !== 'running') break;
      await sleep(250);
    }
    const rssBefore = rssMb(pid, 'VmRSS');
    await eventLoopLag(url); // resets the window

    const submitMs: number[] = [];
    const healthMs: number[] = [];
    const lagWindows: { p99: number; max: number }[] = [];
    const largeReads: { format: string; bytes: number; ms: number }[] = [];
    const jobs: string[] = [];
    let lost = 0;
    let repeated = 0;
    let followed = 0;
    let events = 0;
    let peakRss = rssBefore;
    const until = performance.now() + SECONDS * 1000;
    const running = () => performance.now() < until;

    const submitter = (async () => {
      const interval = 1000 / RATE;
      let next = performance.now();
      const inflight: Promise<void>[] = [];
      while (running()) {
        inflight.push(
          request(`${url}/v1/jobs`, { method: 'POST', body: W1 }).then(
            (r) => {
              submitMs.push(r.ms);
              if (r.status === 202) jobs.push((JSON.parse(r.text) as { id: string }).id);
              else fail(`submit ${r.status}`);
            },
            () => fail('submit socket'),
          ),
        );
        next += interval;
        await sleep(Math.max(0, next - performance.now()));
      }
      await Promise.all(inflight);
    })();

    const streamer = async () => {
      while (running()) {
        const id = jobs.at(-1);
        if (!id) {
          await sleep(50);
          continue;
        }
        const r = await follow(url, id);
        followed++;
        events += r.events;
        lost += r.lost;
        repeated += r.repeated;
        if (!r.ok) fail('stream incomplete');
      }
    };
    const streamers = Array.from({ length: STREAMS }, streamer);

    const health = (async () => {
      while (running()) {
        try {
          const r = await request(`${url}/healthz`);
          healthMs.push(r.ms);
          if (r.status !== 200) fail(`healthz ${r.status}`);
        } catch {
          fail('healthz socket');
        }
        await sleep(100);
      }
    })();

    const metrics = (async () => {
      while (running()) {
        await sleep(5000);
        const lag = await eventLoopLag(url).catch(() => null);
        if (lag) lagWindows.push(lag);
        else fail('metrics');
      }
    })();

    const largeReader = (async () => {
      let csv = false;
      while (running()) {
        await sleep(LARGE_EVERY_S * 1000);
        if (!running()) break;
        const format = csv ? 'csv' : 'json';
        const r = await drain(`${url}/v1/jobs/${large.id}/result${csv ? '?format=csv' : ''}`).catch(() => null);
        if (r && r.status === 200) largeReads.push({ format, bytes: r.bytes, ms: r.ms });
        else fail(`large result ${r?.status ?? 'socket'}`);
        csv = !csv;
      }
    })();

    const rssSampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMb(pid, 'VmRSS'));
    }, 250);
    await Promise.all([submitter, health, metrics, largeReader, ...streamers]);
    clearInterval(rssSampler);

    // The paused readers: half WebSocket, half NDJSON, on the large job, never reading.
    const pausedRssBefore = rssMb(pid, 'VmRSS');
    let pausedPeak = pausedRssBefore;
    const sockets: { close(): void }[] = [];
    for (let i = 0; i < PAUSED; i++) {
      if (i % 2 === 0) {
        const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/jobs/${large.id}/stream?from=0`);
        ws.on('open', () => ws.pause());
        ws.on('error', () => fail('paused ws'));
        sockets.push({ close: () => ws.terminate() });
      } else {
        const req = http.get(`${url}/v1/jobs/${large.id}/events?from=0`, (res) => res.pause());
        req.on('error', () => {});
        sockets.push({ close: () => req.destroy() });
      }
    }
    const metricsDuringPaused: number[] = [];
    const pausedUntil = performance.now() + PAUSED_S * 1000;
    while (performance.now() < pausedUntil) {
      await sleep(500);
      pausedPeak = Math.max(pausedPeak, rssMb(pid, 'VmRSS'));
      const m = await request(`${url}/metrics`).catch(() => null);
      if (m?.status === 200) metricsDuringPaused.push(m.ms);
      else fail('metrics while paused');
    }
    for (const s of sockets) s.close();

    const lagP99 = lagWindows.map((w) => w.p99);
    const report = {
      seconds: SECONDS,
      rate: RATE,
      streams: STREAMS,
      workers: WORKERS,
      submitted: submitMs.length,
      submitP50Ms: pct(submitMs, 50),
      submitP99Ms: pct(submitMs, 99),
      healthzP99Ms: pct(healthMs, 99),
      healthzMaxMs: Math.max(...healthMs),
      eventLoopDelayP99WorstWindowMs: Math.max(...lagP99),
      eventLoopDelayP99MedianWindowMs: pct(lagP99, 50),
      eventLoopDelayMaxMs: Math.max(...lagWindows.map((w) => w.max)),
      streamsFollowed: followed,
      eventsReceived: events,
      lostEvents: lost,
      repeatedEvents: repeated,
      errors,
      largeReads,
      rssBeforeMb: rssBefore,
      peakRssMb: peakRss,
      pausedReaders: PAUSED,
      pausedRssBeforeMb: pausedRssBefore,
      pausedPeakRssMb: pausedPeak,
      metricsWhilePausedP99Ms: pct(metricsDuringPaused, 99),
      vmHwmMb: rssMb(pid, 'VmHWM'),
      loadavg1: loadavg()[0],
    };
    const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : String(x));
    console.log(`load: ${SECONDS} s, ${RATE} submissions/s, ${STREAMS} NDJSON streams, WORKERS=${WORKERS}`);
    console.log(
      `  submit          p50 ${f(report.submitP50Ms)} ms   p99 ${f(report.submitP99Ms)} ms   (${submitMs.length} jobs)`,
    );
    console.log(`  /healthz        p99 ${f(report.healthzP99Ms)} ms   max ${f(report.healthzMaxMs)} ms`);
    console.log(
      `  event-loop delay p99 ${f(report.eventLoopDelayP99WorstWindowMs)} ms (worst 5 s window), ${f(report.eventLoopDelayP99MedianWindowMs)} ms (median window), max ${f(report.eventLoopDelayMaxMs)} ms`,
    );
    console.log(`  streams         ${followed} followed, ${events} events, ${lost} lost, ${repeated} repeated`);
    for (const r of largeReads)
      console.log(`  large result    ${r.format} ${(r.bytes / 1e6).toFixed(1)} MB in ${f(r.ms)} ms`);
    console.log(`  errors          ${JSON.stringify(errors)}`);
    console.log(`  RSS             ${f(rssBefore)} MB before, peak ${f(peakRss)} MB`);
    console.log(
      `  paused readers  ${PAUSED} (${PAUSED / 2} WS + ${PAUSED / 2} NDJSON): RSS ${f(pausedRssBefore)} → peak ${f(pausedPeak)} MB; /metrics p99 ${f(report.metricsWhilePausedP99Ms)} ms`,
    );
    console.log(`  load average    ${f(report.loadavg1)} (shared machine)`);
    console.log(JSON.stringify(report));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    agent.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
