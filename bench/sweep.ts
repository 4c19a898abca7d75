/**
 * `npm run bench:sweep`: a 10,000-cell sweep of 200-step textbook jobs (W = gain·I, gain × depth ×
 * clipping) on a real server with 2 workers, driven over HTTP, against the engine's in-process
 * rate for the same cells × workers; and the server's resident memory while it runs.
 *
 *   npm run bench:sweep                 # the full 10,000 cells
 *   npm run bench:sweep -- --cells 2000 # a smaller grid (fewer gains), same shape otherwise
 *   npm run bench:sweep -- --series     # cells keep their full series (the old behaviour)
 *   npm run bench:sweep -- --figures    # the classic presets' grids as markdown tables (docs/sweeps.md)
 *
 * The server runs in a child process (this file with --serve) so its RSS is its own. Then the floor:
 * the same cells through a bare piscina pool, nothing stored, streamed or logged.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobSpec } from '../src/contract/spec.js';
import { SweepPreset, SweepRequest, type SweepRequestInput } from '../src/contract/sweep.js';
import { sweepPresets } from '../src/contract/sweep-presets.js';
import { simulate } from '../src/engine/index.js';
import { cellSpec, cellValues, expandSweep } from '../src/runtime/sweep/expand.js';
import { predictCell } from '../src/runtime/sweep/theory.js';

const WORKERS = 2;
const STEPS = 200;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function grid(cells: number): SweepRequestInput {
  const depths = Array.from({ length: 50 }, (_, i) => i + 1);
  const gainsCount = Math.max(1, Math.round(cells / (depths.length * 2)));
  const gains = Array.from({ length: gainsCount }, (_, i) => 0.5 + i / Math.max(1, gainsCount - 1));
  return {
    name: `bench: ${gainsCount * depths.length * 2} textbook cells`,
    base: {
      seed: 1,
      network: { kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain: 1 } },
      data: { kind: 'synthetic', samples: 64 },
      training: { steps: STEPS, batchSize: 32, learningRate: 0.01 },
    },
    ...(process.argv.includes('--series') ? { keep: 'series' as const } : {}),
    axes: [
      { path: 'network.init.gain', values: gains },
      { path: 'network.depth', values: depths },
      { path: 'mitigations', values: [[], [{ kind: 'clip-norm', maxNorm: 1 }]], labels: ['none', 'clip-norm 1'] },
    ],
  };
}

async function serve(): Promise<void> {
  const { buildApp } = await import('../src/app.js');
  const { loadConfig } = await import('../src/config.js');
  const app = await buildApp(loadConfig(process.env));
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  let ticks = 0;
  const report = () => {
    // Every 2 s a full GC first, so the heap figure is what is retained, not what is garbage.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (++ticks % 8 === 0 && gc) {
      gc();
      process.stdout.write(`${JSON.stringify({ heap: process.memoryUsage().heapUsed })}\n`);
    }
    process.stdout.write(`${JSON.stringify({ rss: process.memoryUsage().rss })}\n`);
  };
  const timer = setInterval(report, 250);
  process.stdout.write(`${JSON.stringify({ address })}\n`);
  process.once('SIGTERM', async () => {
    clearInterval(timer);
    await app.close();
    process.stdout.write(`${JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024 })}\n`);
    process.exit(0);
  });
}

interface Child {
  address: Promise<string>;
  rss: number[];
  heap: number[];
  maxRss: Promise<number>;
  stop(): void;
}

function startServer(dataDir: string): Child {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--serve'], {
    env: { ...process.env, WORKERS: String(WORKERS), DATA_DIR: dataDir, LOG_LEVEL: 'warn', PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rss: number[] = [];
  const heap: number[] = [];
  let resolveAddress!: (a: string) => void;
  let resolveMax!: (n: number) => void;
  const address = new Promise<string>((r) => {
    resolveAddress = r;
  });
  const maxRss = new Promise<number>((r) => {
    resolveMax = r;
  });
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.startsWith('{')) continue;
      const msg = JSON.parse(line);
      if (msg.address) resolveAddress(msg.address);
      if (msg.rss) rss.push(msg.rss);
      if (msg.heap) heap.push(msg.heap);
      if (msg.maxRss) resolveMax(msg.maxRss);
    }
  });
  return { address, rss, heap, maxRss, stop: () => child.kill('SIGTERM') };
}

async function main(): Promise<void> {
  const cells = Number(arg('--cells') ?? 10_000);
  const input = grid(cells);
  const request = SweepRequest.parse(input);
  const { total } = expandSweep(request);

  // In-process reference: every cell, one thread. (A stride is no sample: every 10th cell of this
  // grid has the same mitigation, since that axis varies fastest and has 2 values.)
  const sample = Array.from({ length: total }, (_, k) => k);
  for (const i of sample.slice(0, 200)) simulate(cellSpec(request, i)); // warm-up
  const t0 = performance.now();
  for (const i of sample) simulate(cellSpec(request, i));
  const inProcessPerThread = sample.length / ((performance.now() - t0) / 1000);

  const dataDir = mkdtempSync(join(tmpdir(), 'gl-bench-sweep-'));
  const server = startServer(dataDir);
  try {
    const base = await server.address;
    while (server.rss.length === 0) await new Promise((r) => setTimeout(r, 50));
    const rssAtStart = server.rss.at(-1) ?? 0;
    const t1 = performance.now();
    const created = await fetch(`${base}/v1/sweeps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    if (created.status !== 202) throw new Error(`POST /v1/sweeps: ${created.status} ${await created.text()}`);
    const sweep = (await created.json()) as { id: string };
    const tCreated = performance.now();
    const events = await fetch(`${base}/v1/sweeps/${sweep.id}/events`);
    let seen = 0;
    let done: { status: string } | null = null;
    let rest = '';
    const decoder = new TextDecoder();
    for await (const chunk of events.body as unknown as AsyncIterable<Uint8Array>) {
      rest += decoder.decode(chunk, { stream: true });
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        const e = JSON.parse(line);
        if (e.type === 'cell') seen++;
        else done = e;
      }
    }
    const seconds = (performance.now() - t1) / 1000;
    const csv = await (await fetch(`${base}/v1/sweeps/${sweep.id}?format=csv`)).text();
    const rows = csv.trimEnd().split('\n').length - 1;
    server.stop();
    const maxRss = await server.maxRss;
    // The store once the server has closed (WAL checkpointed): every file in DATA_DIR.
    const storeBytes = readdirSync(dataDir).reduce((n, f) => n + statSync(join(dataDir, f)).size, 0);
    // Right after, on the same machine state: the floor, every cell through a bare pool.
    const floorRate = await floor(request, total);
    const endToEnd = seen / seconds;
    const reference = inProcessPerThread * WORKERS;
    const mib = (b: number) => (b / 2 ** 20).toFixed(0);
    const rssSamples = server.rss;
    const q = (f: number) => rssSamples[Math.min(rssSamples.length - 1, Math.floor(f * (rssSamples.length - 1)))] ?? 0;
    console.log(
      `sweep: ${total} cells × ${STEPS} steps (linear, width 2, depth 1–50, clip or not), ${WORKERS} workers`,
    );
    console.log('| measure | value |');
    console.log('|---|---|');
    console.log(`| cells run (events / CSV rows) | ${seen} / ${rows} (done: ${done?.status}) |`);
    console.log(`| create (validate, expand, store) | ${((tCreated - t1) / 1000).toFixed(2)} s |`);
    console.log(`| end to end | ${seconds.toFixed(1)} s, ${endToEnd.toFixed(0)} cells/s |`);
    console.log(`| engine in-process, 1 thread (${sample.length} cells) | ${inProcessPerThread.toFixed(0)} cells/s |`);
    console.log(`| × ${WORKERS} workers | ${reference.toFixed(0)} cells/s |`);
    console.log(`| end to end / in-process × workers | ${((100 * endToEnd) / reference).toFixed(0)}% |`);
    console.log(
      `| floor: the same cells through a bare piscina pool (${FLOOR_TASK} cells a task, nothing stored, streamed or logged) | ${floorRate.toFixed(0)} cells/s = ${((100 * floorRate) / reference).toFixed(0)}% |`,
    );
    console.log(
      `| server RSS: start / 25% / 50% / 75% / end / peak | ${mib(rssAtStart)} / ${mib(q(0.25))} / ${mib(q(0.5))} / ${mib(q(0.75))} / ${mib(q(1))} / ${mib(maxRss)} MiB |`,
    );
    console.log(
      `| store (DATA_DIR after close) | ${(storeBytes / 1e6).toFixed(1)} MB, ${(storeBytes / total).toFixed(0)} bytes per cell (keep: ${request.keep}) |`,
    );
    const heaps = server.heap;
    console.log(
      `| server JS heap after GC: first / median / last sample | ${mib(heaps[0] ?? 0)} / ${mib(heaps[Math.floor(heaps.length / 2)] ?? 0)} / ${mib(heaps.at(-1) ?? 0)} MiB |`,
    );
    console.log(
      JSON.stringify({
        bench: 'sweep',
        cells: total,
        steps: STEPS,
        workers: WORKERS,
        seconds,
        cellsPerSec: endToEnd,
        inProcessCellsPerSecPerThread: inProcessPerThread,
        ratio: endToEnd / reference,
        floorCellsPerSec: floorRate,
        floorRatio: floorRate / reference,
        peakRssBytes: maxRss,
        keep: request.keep,
        storeBytes,
        rssSamplesMiB: [rssAtStart, q(0.25), q(0.5), q(0.75), q(1)].map((b) => Math.round(b / 2 ** 20)),
        heapAfterGcMiB: [heaps[0] ?? 0, heaps.at(-1) ?? 0].map((b) => Math.round(b / 2 ** 20)),
      }),
    );
    if (seen !== total || rows !== total) process.exitCode = 1;
  } finally {
    server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const FLOOR_TASK = 64;

/**
 * The floor: the same cells run by a piscina pool of WORKERS threads in tasks of FLOOR_TASK cells,
 * only the outcomes coming back — what any service on this machine could reach at best. In-process
 * here (the server has stopped), after a warm-up task per thread.
 */
async function floor(request: ReturnType<typeof SweepRequest.parse>, total: number): Promise<number> {
  const { createJobPool } = await import('../src/runtime/pool.js');
  const pool = createJobPool({
    workers: WORKERS,
    workerMaxOldGenMb: 512,
    workerFile: new URL('./floor-worker.ts', import.meta.url),
  }) as unknown as { run(specs: JobSpec[]): Promise<string[]>; destroy(): Promise<void> };
  try {
    const specs = Array.from({ length: total }, (_, i) => cellSpec(request, i));
    await Promise.all(Array.from({ length: WORKERS }, () => pool.run(specs.slice(0, FLOOR_TASK))));
    const t0 = performance.now();
    const tasks: Promise<string[]>[] = [];
    for (let i = 0; i < total; i += FLOOR_TASK) tasks.push(pool.run(specs.slice(i, i + FLOOR_TASK)));
    await Promise.all(tasks);
    return total / ((performance.now() - t0) / 1000);
  } finally {
    await pool.destroy();
  }
}

/** Runs a preset's cells in-process, as test/sweep/classics.test.ts does, and prints its findings as tables. */
function figures(): void {
  const fmt = (x: unknown) => {
    const v = typeof x === 'number' ? x : Number(x);
    return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3);
  };
  const run = (id: string, tweak: (s: JobSpec) => void = () => {}) => {
    const request = SweepPreset.parse(sweepPresets.find((p) => p.id === id)).request;
    const { total } = expandSweep(request);
    return Array.from({ length: total }, (_, i) => {
      const spec = cellSpec(request, i);
      tweak(spec);
      return { v: cellValues(request, i) as unknown[], s: simulate(spec).summary, p: predictCell(spec) };
    });
  };
  const table = (title: string, head: string[], rows: string[][]) => {
    console.log(`\n${title}\n\n| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  };
  const he = run('sweep-he-2015');
  table(
    'He et al. 2015 (backwardGain at step 1)',
    ['init gain', 'backwardGain', '/ 2^−14.5', 'χ₁'],
    he.map((c) => [String(c.v[0]), fmt(c.s.backwardGain), fmt(Number(c.s.backwardGain) / 2 ** -14.5), fmt(c.p.chi1)]),
  );
  const sch = run('sweep-schoenholz-2017', (s) => {
    s.training.steps = 1;
  });
  const depths = [...new Set(sch.map((c) => c.v[1] as number))];
  const sigmas = [...new Set(sch.map((c) => c.v[0] as number))];
  table(
    'Schoenholz et al. 2017 (backwardGain at step 1)',
    ['σ_w', 'χ₁', ...depths.map((d) => `L=${d}`)],
    sigmas.map((w) => {
      const row = sch.filter((c) => c.v[0] === w);
      return [
        String(w),
        Number(row[0].p.chi1).toFixed(3),
        ...depths.map((d) => fmt(row.find((c) => c.v[1] === d)!.s.backwardGain)),
      ];
    }),
  );
  const pas = run('sweep-pascanu-2013');
  const ts = [...new Set(pas.map((c) => c.v[1] as number))];
  const lambdas = [...new Set(pas.map((c) => c.v[0] as number))];
  for (const act of ['identity', 'tanh'])
    table(
      `Pascanu et al. 2013, ${act} (‖∂L/∂h_1‖/‖∂L/∂h_T‖ at step 1)`,
      ['λ', ...ts.map((t) => `T=${t}`)],
      lambdas.map((l) => [
        String(l),
        ...ts.map((t) => fmt(pas.find((c) => c.v[0] === l && c.v[1] === t && c.v[2] === act)!.s.backwardGain)),
      ]),
    );
  const tb = run('sweep-textbook');
  const ls = [...new Set(tb.map((c) => c.v[1] as number))];
  const gains = [...new Set(tb.map((c) => c.v[0] as number))];
  for (const clip of [false, true])
    table(
      `Textbook, ${clip ? 'clip-norm 1' : 'no clipping'} (backwardGain, outcome; NaN@k = first non-finite step)`,
      ['gain', ...ls.map((l) => `L=${l}`)],
      gains.map((g) => [
        String(g),
        ...ls.map((l) => {
          const c = tb.find((x) => x.v[0] === g && x.v[1] === l && (x.v[2] as unknown[]).length > 0 === clip)!;
          return `${fmt(c.s.backwardGain)} ${c.s.firstNonFiniteStep !== null ? `**NaN@${c.s.firstNonFiniteStep}**` : c.s.outcome}`;
        }),
      ]),
    );
}

if (process.argv.includes('--serve')) await serve();
else if (process.argv.includes('--figures')) figures();
else await main();
