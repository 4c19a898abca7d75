/**
 * Runtime figures (not a test): `npx tsx test/runtime/perf/measure.ts [jobs] [longSteps]`.
 * (a) W1 textbook jobs through the runtime (memory and SQLite stores, 1 and 2 workers) against the
 *     engine's in-process rate; (b) one job fanned out to 100 in-process subscribers; (c) cancel
 *     latency, cancel() to the done event; (d) main-thread memory of one long job and its replay.
 * Prints a table and one JSON line. Figures depend on the machine's load: run it on a quiet one.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { JobSpec } from '../../../src/contract/spec.js';
import { simulate } from '../../../src/engine/index.js';
import { createEmbeddedRuntime, type EmbeddedJobService } from '../../../src/runtime/index.js';

const JOBS = Number(process.argv[2] ?? 300);
const LONG_STEPS = Number(process.argv[3] ?? 200_000);

const W1 = JobSpec.parse({
  network: { kind: 'linear', depth: 10, width: 2, bias: false, init: { scheme: 'scaled-identity', gain: 1.5 } },
  training: { steps: 1000, batchSize: 32, learningRate: 1e-4, optimizer: 'sgd' },
  mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
});
const withSteps = (steps: number) => JobSpec.parse({ ...W1, training: { ...W1.training, steps } });

/** /proc counts CPU time in clock ticks, USER_HZ = 100 on Linux whatever the kernel's own HZ. */
const CLK_TCK = 100;

/**
 * CPU time of this process's main thread so far, in ms (Linux /proc; its tid is the pid); null
 * elsewhere. Unlike event-loop utilization it does not count time the thread waited for a core.
 */
function mainThreadCpuMs(): number | null {
  const path = `/proc/${process.pid}/task/${process.pid}/stat`;
  if (!existsSync(path)) return null;
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

const dirs: string[] = [];
async function runtime(workers: number, sqlite: boolean): Promise<EmbeddedJobService> {
  const dataDir = sqlite ? mkdtempSync(join(tmpdir(), 'gl-measure-')) : null;
  if (dataDir) dirs.push(dataDir);
  return createEmbeddedRuntime({
    dataDir,
    workers,
    maxQueue: 1_000_000,
    maxWorkFlops: 1e18,
    maxJobBytes: 1e12,
    jobTtlMs: null,
    maxJobs: null,
    workerMaxOldGenMb: 256,
    logger: pino({ level: 'silent' }),
  });
}

function ended(rt: EmbeddedJobService, n: number): Promise<void> {
  let left = n;
  return new Promise((resolve) => {
    const off = rt.onJobEnd(() => {
      if (--left === 0) {
        off();
        resolve();
      }
    });
  });
}

const results: Record<string, number | boolean | string> = {};
const table: [string, string][] = [];
const record = (key: string, label: string, value: number, digits = 1) => {
  results[key] = Number(value.toFixed(digits));
  table.push([label, value.toFixed(digits)]);
};

for (let i = 0; i < 20; i++) simulate(W1);
let t = performance.now();
for (let i = 0; i < 50; i++) simulate(W1);
const engineRate = 50 / ((performance.now() - t) / 1000);
record('engineJobsPerSec', 'engine in-process, 1 thread: W1 jobs/s', engineRate);

for (const [workers, sqlite] of [
  [1, false],
  [2, false],
  [2, true],
] as const) {
  const rt = await runtime(workers, sqlite);
  const warm = ended(rt, 10);
  for (let i = 0; i < 10; i++) await rt.submit(W1, null);
  await warm;
  const all = ended(rt, JOBS);
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = mainThreadCpuMs();
  t = performance.now();
  for (let i = 0; i < JOBS; i++) await rt.submit(W1, null);
  await all;
  const rate = JOBS / ((performance.now() - t) / 1000);
  const elu = performance.eventLoopUtilization(elu0);
  const cpu1 = mainThreadCpuMs();
  const key = `${sqlite ? 'sqlite' : 'memory'}${workers}w`;
  record(`${key}JobsPerSec`, `runtime ${key}: W1 jobs/s`, rate);
  record(`${key}VsEngineTimesWorkers`, `runtime ${key}: ÷ (engine × workers)`, rate / (engineRate * workers), 2);
  record(`${key}MainThreadMsPerJob`, `runtime ${key}: main-thread busy ms/job (wall)`, elu.active / JOBS, 2);
  if (cpu0 !== null && cpu1 !== null) {
    record(`${key}MainThreadCpuMsPerJob`, `runtime ${key}: main-thread CPU ms/job`, (cpu1 - cpu0) / JOBS, 2);
  }
  await rt.close();
}

{
  const rt = await runtime(1, false);
  const job = await rt.submit(withSteps(20_000), null);
  let delivered = 0;
  t = performance.now();
  const counts = await Promise.all(
    Array.from(
      { length: 100 },
      () =>
        new Promise<number>((resolve, reject) => {
          let last = -1;
          void rt.subscribe(job.id, null, {
            from: 0,
            onEvent(e) {
              if (e.seq !== last + 1) reject(new Error(`gap after ${last}`));
              last = e.seq;
              delivered++;
            },
            onEnd: () => resolve(last + 1),
          });
        }),
    ),
  );
  const seconds = (performance.now() - t) / 1000;
  results.fanoutAllComplete = counts.every((c) => c === 20_001);
  record('fanoutEventsPerSec', '100 subscribers of a 20,000-step job: events delivered/s', delivered / seconds, 0);
  await rt.close();
}

{
  const rt = await runtime(1, false);
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const job = await rt.submit(withSteps(1_000_000), null);
    await new Promise<void>((resolve) => {
      let seen = false;
      void rt.subscribe(job.id, null, {
        from: 0,
        onEvent(e) {
          if (!seen && e.seq >= 50) {
            seen = true;
            resolve();
          }
        },
      });
    });
    const from = (await rt.get(job.id, null))!.lastSeq + 1;
    let t0 = 0;
    const done = new Promise<number>((resolve) => {
      void rt.subscribe(job.id, null, { from, onEvent: (e) => e.type === 'done' && resolve(performance.now() - t0) });
    });
    await new Promise((r) => setImmediate(r));
    t0 = performance.now();
    await rt.cancel(job.id, null);
    latencies.push(await done);
  }
  latencies.sort((a, b) => a - b);
  record('cancelMedianMs', 'cancel → done, median of 20 (ms)', latencies[10], 2);
  record('cancelMaxMs', 'cancel → done, max of 20 (ms)', latencies[19], 2);
  await rt.close();
}

{
  const rt = await runtime(1, true);
  const mib = (x: number) => x / 2 ** 20;
  const base = process.memoryUsage();
  const all = ended(rt, 1);
  const job = await rt.submit(withSteps(LONG_STEPS), null);
  await all;
  const after = process.memoryUsage();
  record(
    'longJobArrayBuffersMiB',
    `${LONG_STEPS}-step job held on the main thread: ArrayBuffer MiB`,
    mib(after.arrayBuffers - base.arrayBuffers),
  );
  record('longJobHeapMiB', `${LONG_STEPS}-step job: JS heap growth MiB`, mib(after.heapUsed - base.heapUsed));
  let n = 0;
  t = performance.now();
  await new Promise<void>((resolve) => {
    void rt.subscribe(job.id, null, { from: 0, onEvent: () => void n++, onEnd: resolve });
  });
  record(
    'longJobReplayEventsPerSec',
    `${LONG_STEPS}-step job: replay events/s`,
    n / ((performance.now() - t) / 1000),
    0,
  );
  await rt.close();
}

for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
const width = Math.max(...table.map(([label]) => label.length));
for (const [label, value] of table) console.log(`${label.padEnd(width)}  ${value}`);
console.log(JSON.stringify(results));
