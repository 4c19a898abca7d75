/**
 * Service benchmark (`npm run bench:service`), against the real server entry in a child process
 * with a SQLite store in a temp directory:
 *   (a) 1,000 textbook jobs (W1: linear, depth 10, width 2, W = 1.5·I, no bias, batch 32, lr 1e-4,
 *       1,000 SGD steps, clip-norm 1.0, every step recorded) submitted over HTTP with WORKERS=2 and
 *       run to completion: jobs/s end to end, against the engine's in-process rate × 2 measured in
 *       the same run (target ≥ 80 %);
 *   (b) one job streamed to 100 WebSocket subscribers: events delivered per second, none lost
 *       (a subscriber cut off with 1013 reconnects with `from`, as a real client does; counted);
 *   (c) autocannon on GET /v1/jobs/:id: requests/s and p99 latency.
 *   (a0) the floor for (a): the same jobs, same client, through a bare Fastify route (the same zod
 *       parse) into a piscina pool of 2 threads running the engine, nothing stored, streamed or
 *       logged: what any HTTP job service on this machine could reach at best.
 * Prints a table, then one JSON line per case.
 *
 *   npm run bench:service -- [--jobs 1000] [--stream-steps 10000] [--subscribers 100] [--duration 10]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { JobEvent } from '../src/contract/events.js';
import { JobSpec, type JobSpecInput } from '../src/contract/spec.js';
import { simulate } from '../src/engine/index.js';

const { values: args } = parseArgs({
  options: {
    'floor-serve': { type: 'boolean', default: false },
    jobs: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
    'stream-steps': { type: 'string', default: '10000' },
    subscribers: { type: 'string', default: '100' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
  },
});
const JOBS = Number(args.jobs);
const WORKERS = Number(args.workers);
const STREAM_STEPS = Number(args['stream-steps']);
const SUBSCRIBERS = Number(args.subscribers);
const DURATION_S = Number(args.duration);
const CONNECTIONS = Number(args.connections);

const W1: JobSpecInput = {
  name: 'W1 textbook',
  network: { kind: 'linear', depth: 10, width: 2, bias: false, init: { scheme: 'scaled-identity', gain: 1.5 } },
  training: { steps: 1000, batchSize: 32, learningRate: 1e-4, optimizer: 'sgd' },
  mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
  record: { every: 1, layers: true },
};

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  duration: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
}) => Promise<AutocannonResult>;

const rows: { case: string; metric: string; value: string; note: string }[] = [];
const lines: Record<string, unknown>[] = [];
const fmt = (x: number, digits = 1) => x.toLocaleString('en-US', { maximumFractionDigits: digits });

/** Wall-clock rate (what the target compares) and CPU time per job (robust to a busy machine). */
function engineRun(): { jobsPerSec: number; cpuMsPerJob: number } {
  const spec = JobSpec.parse(W1);
  for (let i = 0; i < 5; i++) simulate(spec); // warm-up: JIT
  const rates: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < 5; r++) {
    const n = 20;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) simulate(spec);
    const c = process.cpuUsage(c0);
    rates.push(n / ((performance.now() - t0) / 1000));
    cpus.push((c.user + c.system) / 1000 / n);
  }
  rates.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  return { jobsPerSec: rates[2], cpuMsPerJob: cpus[2] };
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user + system) of a process so far, in ms: all its threads, or with `mainThread` only
 * the thread that runs the event loop (its tid is the pid); null where /proc is missing.
 */
function processCpuMs(pid: number, mainThread = false): number | null {
  const path = mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
  if (!existsSync(path)) return null;
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      WORKERS: String(WORKERS),
      LOG_LEVEL: 'info',
      MAX_QUEUE: String(Math.max(5000, JOBS * 2)),
      RATE_LIMIT_MAX: '1000000000',
      SHUTDOWN_GRACE_S: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'gradient lab listening') resolve(`http://127.0.0.1:${entry.port}`);
        } catch {}
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  });
  child.stdout!.resume();
  return { child, url };
}

/**
 * The load generator's POST: node:http over kept-alive sockets. It shares the two cores with the
 * server, so it should cost little: `fetch` took ≈ 1.2 ms of CPU per job here (with the /metrics polls), this ≈ 0.6.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const SPEC_BODY = JSON.stringify(W1);

function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function submit(url: string, spec: JobSpecInput): Promise<string> {
  const res = await post(`${url}/v1/jobs`, spec === W1 ? SPEC_BODY : JSON.stringify(spec));
  if (res.status !== 202) throw new Error(`POST /v1/jobs → ${res.status} ${res.text}`);
  return (JSON.parse(res.text) as { id: string }).id;
}

/** Several values from one scrape: every scrape costs the server real work (default metrics). */
async function metrics(url: string, names: string[]): Promise<number[]> {
  const lines = (await (await fetch(`${url}/metrics`)).text()).split('\n');
  return names.map((name) => {
    const line = lines.find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : 0;
  });
}

async function benchJobs(
  url: string,
  pid: number,
  engine: { jobsPerSec: number; cpuMsPerJob: number },
): Promise<string> {
  const cpu0 = processCpuMs(pid);
  const main0 = processCpuMs(pid, true);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const ids: string[] = [];
  let next = 0;
  // A few requests in flight, as several clients would: the server must not be the one waiting.
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < JOBS) {
        next++;
        ids.push(await submit(url, W1));
      }
    }),
  );
  const submitted = performance.now();
  let succeeded = 0;
  let failed = 0;
  for (;;) {
    [succeeded, failed] = await metrics(url, [
      'gradient_lab_jobs{status="succeeded"}',
      'gradient_lab_jobs{status="failed"}',
    ]);
    if (succeeded + failed >= JOBS) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  // The client shares the two cores with the server: its CPU is part of what the machine spends per job.
  const clientCpuMsPerJob = (client.user + client.system) / 1000 / JOBS;
  const cpu1 = processCpuMs(pid);
  const main1 = processCpuMs(pid, true);
  const serverCpuMsPerJob = cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / JOBS : null;
  // The main thread serves HTTP, dispatches and stores; it competes with the workers for the cores.
  const mainThreadCpuMsPerJob = main0 !== null && main1 !== null ? (main1 - main0) / JOBS : null;
  const rate = JOBS / seconds;
  const engineRate = engine.jobsPerSec;
  const target = engineRate * WORKERS;
  rows.push(
    { case: 'a', metric: 'engine in-process, 1 thread', value: `${fmt(engineRate)} jobs/s`, note: 'median of 5×20' },
    {
      case: 'a',
      metric: `service, ${WORKERS} workers, end to end`,
      value: `${fmt(rate)} jobs/s`,
      note: `${JOBS} jobs in ${fmt(seconds, 2)} s (submitting took ${fmt((submitted - t0) / 1000, 2)} s)`,
    },
    {
      case: 'a',
      metric: `vs engine × ${WORKERS}`,
      value: `${fmt((100 * rate) / target)} %`,
      note: `target ≥ 80 % of ${fmt(target)} jobs/s${failed ? `; ${failed} FAILED` : ''}`,
    },
    {
      case: 'a',
      metric: 'CPU per job: engine / whole server',
      value:
        serverCpuMsPerJob === null
          ? `${fmt(engine.cpuMsPerJob, 2)} ms / n.a.`
          : `${fmt(engine.cpuMsPerJob, 2)} / ${fmt(serverCpuMsPerJob, 2)} ms`,
      note: 'server = main thread + workers, submission to completion',
    },
    {
      case: 'a',
      metric: 'CPU per job: server main thread',
      value: mainThreadCpuMsPerJob === null ? 'n.a.' : `${fmt(mainThreadCpuMsPerJob, 2)} ms`,
      note: 'HTTP, dispatch, events, store writes',
    },
    {
      case: 'a',
      metric: 'CPU per job: the benchmark client',
      value: `${fmt(clientCpuMsPerJob, 2)} ms`,
      note: 'its HTTP requests, on the same two cores',
    },
  );
  lines.push({
    bench: 'service',
    case: 'jobs',
    jobs: JOBS,
    workers: WORKERS,
    seconds,
    jobsPerSec: rate,
    engineJobsPerSec: engineRate,
    ratioToEngineTimesWorkers: rate / target,
    engineCpuMsPerJob: engine.cpuMsPerJob,
    serverCpuMsPerJob,
    mainThreadCpuMsPerJob,
    clientCpuMsPerJob,
    failed,
  });
  return ids[ids.length - 1];
}

/** N subscribers to one job's WebSocket stream from seq 0 until `done`, each checking seq order. */
async function fanOut(
  wsUrl: string,
): Promise<{ seconds: number; delivered: number; counts: number[]; reconnects: number }> {
  let reconnects = 0;
  let delivered = 0;
  const t0 = performance.now();
  const counts = await Promise.all(
    Array.from(
      { length: SUBSCRIBERS },
      () =>
        new Promise<number>((resolve, reject) => {
          let expected = 0;
          let finished = false;
          const connect = () => {
            const ws = new WebSocket(`${wsUrl}?from=${expected}`);
            ws.on('message', (data) => {
              const event = JSON.parse(String(data)) as JobEvent;
              if (event.seq !== expected) {
                ws.terminate();
                reject(new Error(`subscriber got seq ${event.seq}, expected ${expected}`));
                return;
              }
              expected++;
              delivered++;
              if (event.type === 'done') {
                finished = true;
                ws.close();
                resolve(expected);
              }
            });
            ws.on('close', (code) => {
              if (finished) return;
              // 1013: this client fell behind; a real client reconnects where it stopped.
              if (code === 1013) {
                reconnects++;
                connect();
              } else reject(new Error(`stream closed with ${code} before done`));
            });
            ws.on('error', reject);
          };
          connect();
        }),
    ),
  );
  return { seconds: (performance.now() - t0) / 1000, delivered, counts, reconnects };
}

async function benchStream(url: string): Promise<void> {
  const spec: JobSpecInput = { ...W1, name: 'W1 streamed', training: { ...W1.training, steps: STREAM_STEPS } };
  const id = await submit(url, spec);
  const wsUrl = `${url.replace('http', 'ws')}/v1/jobs/${id}/stream`;
  // Live: subscribers join as the job starts, so delivery is paced by the job itself.
  const live = await fanOut(wsUrl);
  const job = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as { lastSeq: number };
  // Replay: the job has ended, so this measures delivery alone.
  const replay = await fanOut(wsUrl);
  for (const [mode, r] of [
    ['live', live],
    ['replay', replay],
  ] as const) {
    const lost = r.counts.filter((n) => n !== job.lastSeq + 1).length;
    rows.push({
      case: 'b',
      metric: `1 job → ${SUBSCRIBERS} WebSocket subscribers, ${mode}`,
      value: `${fmt(r.delivered / r.seconds, 0)} events/s`,
      note: `${fmt(r.delivered, 0)} events (${job.lastSeq + 1} each) in ${fmt(r.seconds, 2)} s; subscribers missing events: ${lost}; 1013 reconnects: ${r.reconnects}`,
    });
    lines.push({
      bench: 'service',
      case: `stream-${mode}`,
      subscribers: SUBSCRIBERS,
      steps: STREAM_STEPS,
      eventsPerSubscriber: job.lastSeq + 1,
      delivered: r.delivered,
      seconds: r.seconds,
      eventsPerSec: r.delivered / r.seconds,
      subscribersMissingEvents: lost,
      reconnects1013: r.reconnects,
    });
  }
}

async function benchGet(url: string, id: string): Promise<void> {
  const r = await autocannon({ url: `${url}/v1/jobs/${id}`, connections: CONNECTIONS, duration: DURATION_S });
  rows.push({
    case: 'c',
    metric: 'GET /v1/jobs/:id (autocannon)',
    value: `${fmt(r.requests.average, 0)} req/s`,
    note: `p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${CONNECTIONS} connections, ${DURATION_S} s; non-2xx ${r.non2xx}, errors ${r.errors}`,
  });
  lines.push({
    bench: 'service',
    case: 'get-job',
    connections: CONNECTIONS,
    durationSec: r.duration,
    requestsPerSec: r.requests.average,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  });
}

/** The floor server (this file with --floor-serve, in a child process): POST /jobs → zod → pool, GET /done. */
async function floorServe(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const { createJobPool } = await import('../src/runtime/pool.js');
  const pool = createJobPool({
    workers: WORKERS,
    workerMaxOldGenMb: 512,
    workerFile: new URL('./floor-worker.ts', import.meta.url),
  }) as unknown as { run(specs: unknown[]): Promise<string[]> };
  const app = Fastify();
  let done = 0;
  let failed = 0;
  app.post('/jobs', async (request, reply) => {
    const spec = JobSpec.parse(request.body);
    pool.run([spec]).then(
      () => done++,
      () => failed++,
    );
    return reply.code(202).send({ id: String(done) });
  });
  app.get('/done', async () => ({ done, failed }));
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ address })}\n`);
}

async function benchFloor(engine: { jobsPerSec: number }): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--floor-serve'], {
    env: { ...process.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const m = /"address":"([^"]+)"/.exec(buffered);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`floor server exited with ${code}`)));
    });
    const submitOne = async () => {
      const res = await post(`${url}/jobs`, SPEC_BODY);
      if (res.status !== 202) throw new Error(`floor POST → ${res.status} ${res.text}`);
    };
    const waitDone = async (n: number) => {
      for (;;) {
        const d = (await (await fetch(`${url}/done`)).json()) as { done: number; failed: number };
        if (d.done + d.failed >= n) return d;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Warm-up: the threads compile the engine, as the real server's did before (a) was timed.
    for (let i = 0; i < 40; i++) await submitOne();
    await waitDone(40);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < JOBS) {
          next++;
          await submitOne();
        }
      }),
    );
    const d = await waitDone(40 + JOBS);
    const rate = JOBS / ((performance.now() - t0) / 1000);
    const target = engine.jobsPerSec * WORKERS;
    rows.push({
      case: 'a0',
      metric: `floor: bare Fastify + piscina, ${WORKERS} threads`,
      value: `${fmt(rate)} jobs/s`,
      note: `${fmt((100 * rate) / target)} % of engine × ${WORKERS}; nothing stored, streamed or logged${d.failed ? `; ${d.failed} FAILED` : ''}`,
    });
    lines.push({
      bench: 'service',
      case: 'floor',
      jobs: JOBS,
      workers: WORKERS,
      jobsPerSec: rate,
      ratioToEngineTimesWorkers: rate / target,
    });
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gl-bench-'));
  const load = loadavg()[0];
  const engine = engineRun();
  const server = await startServer(dataDir);
  try {
    const lastId = await benchJobs(server.url, server.child.pid!, engine);
    // Right after (a), before the other cases: the same machine state, side by side.
    await benchFloor(engine);
    await benchStream(server.url);
    await benchGet(server.url, lastId);
  } finally {
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`machine: ${availableParallelism()} CPUs, load average ${load.toFixed(2)} at start\n`);
  const width = (k: 'case' | 'metric' | 'value') => Math.max(k.length, ...rows.map((r) => r[k].length));
  const [c, m, v] = [width('case'), width('metric'), width('value')];
  console.log(`${'case'.padEnd(c)}  ${'metric'.padEnd(m)}  ${'value'.padStart(v)}  note`);
  for (const r of rows) console.log(`${r.case.padEnd(c)}  ${r.metric.padEnd(m)}  ${r.value.padStart(v)}  ${r.note}`);
  for (const l of lines) console.log(JSON.stringify(l));
}

(args['floor-serve'] ? floorServe() : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
