/**
 * Engine benchmark (issue 2, "Speed"): the four workloads of bench/workloads.ts through `simulate`,
 * median steps/s of 5 timed repeats after a warm-up, float64, one thread; and, when /usr/bin/python3
 * has torch and numpy, the same workloads in PyTorch and NumPy (bench/python/reference.py) in the
 * same run, with the ratios. Prints a table, then one JSON line per workload and implementation.
 *
 *   npm run bench                      # W1..W4
 *   npm run bench -- W2 W3             # some of them
 *   npm run bench -- --repeats 3 --no-python --backends wasm
 *   npm run bench -- --memory          # also: a 100,000-step W2 run, bytes held by its series
 *   npm run bench -- --keep-openblas-env  # NumPy/PyTorch with OPENBLAS_CORETYPE/L2_SIZE as set here
 *
 * Backends: `default` (what simulate uses), `ts`, `wasm` and `fma` (the opt-in WebAssembly kernels
 * with fused multiply-adds; on Node 20 this script enables relaxed SIMD for it, see src/engine/wasm/index.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import type { JobSpec } from '../src/contract/spec.js';
import { type Backend, defaultBackend, type Series, simulate, tsBackend } from '../src/engine/index.js';
import { createWasmBackend, fmaAvailable } from '../src/engine/wasm/index.js';
import { WORKLOAD_NAMES, type WorkloadName, workloadSpec } from './workloads.js';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    repeats: { type: 'string', default: '5' },
    backends: { type: 'string', default: 'default,ts,wasm,fma' },
    'no-python': { type: 'boolean', default: false },
    memory: { type: 'boolean', default: false },
    'keep-openblas-env': { type: 'boolean', default: false },
    'memory-steps': { type: 'string', default: '100000' },
  },
});

const PYTHON = '/usr/bin/python3';
const OPENBLAS_PTHREAD = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
const REFERENCE = fileURLToPath(new URL('python/reference.py', import.meta.url));
/** issue 2: W1 ≥ 10× NumPy; W2 and W3 ≥ 0.5× NumPy; W4 reported. */
const TARGETS: Record<WorkloadName, number | null> = { W1: 10, W2: 0.5, W3: 0.5, W4: null };

const repeats = Number(opts.repeats);
const workloads = (positionals.length > 0 ? positionals : WORKLOAD_NAMES) as WorkloadName[];
for (const w of workloads) {
  if (!WORKLOAD_NAMES.includes(w)) {
    console.error(`unknown workload ${w}: expected one of ${WORKLOAD_NAMES.join(', ')}`);
    process.exit(2);
  }
}

interface Line {
  workload: WorkloadName;
  impl: string;
  dtype: 'float64';
  threads: 1;
  stepsPerSec: number;
  backend?: string;
  repeats?: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function defaultName(): string {
  return defaultBackend() === tsBackend ? 'ts' : 'wasm';
}

// Node 20 runs relaxed SIMD (the FMA kernels) only behind this flag, set before the first FMA module
// compiles; Node 24 runs it by default and no longer knows the flag: set only where it is needed.
if (!fmaAvailable()) setFlagsFromString('--experimental-wasm-relaxed-simd');

function backendFor(name: string): Backend {
  if (name === 'ts') return tsBackend;
  if (name === 'wasm') return createWasmBackend();
  if (name === 'fma') return createWasmBackend({ fma: true });
  return defaultBackend();
}

/**
 * A timed repeat lasts at least this long: a 10 ms run (W1) is at the mercy of the scheduler, so
 * short workloads are run several times back to back within one repeat.
 */
const MIN_REPEAT_SECONDS = 0.5;

function timeEngine(spec: JobSpec, backendName: string): number[] {
  const once = () => {
    const t0 = performance.now();
    const out = simulate(spec, {}, { backend: backendFor(backendName) });
    if (out.series.length !== spec.training.steps) throw new Error(`stopped after ${out.series.length} records`);
    return (performance.now() - t0) / 1000;
  };
  // Warm-up: compiles the hot paths, and tells how many runs fill a repeat.
  const warm = Math.min(once(), once());
  const runs = Math.max(1, Math.ceil(MIN_REPEAT_SECONDS / warm));
  return Array.from({ length: repeats }, () => {
    let seconds = 0;
    for (let r = 0; r < runs; r++) seconds += once();
    return (runs * spec.training.steps) / seconds;
  });
}

function pythonAvailable(): boolean {
  if (opts['no-python'] || !existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
}

/** The child's environment: one BLAS thread, the pthread OpenBLAS, and its own kernel detection. */
function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: '1',
    OPENBLAS_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
  };
  // Set on this machine for old OpenBLAS builds; they pin a slower kernel than the CPU supports,
  // so by default the references run with the kernel OpenBLAS detects (threadpoolctl reports it).
  if (!opts['keep-openblas-env']) {
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
  }
  if (existsSync(OPENBLAS_PTHREAD))
    env.LD_LIBRARY_PATH = [OPENBLAS_PTHREAD, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

let pythonInfo: unknown = null;

function timePython(w: WorkloadName): Line[] {
  const r = spawnSync(PYTHON, [REFERENCE, '--workloads', w, '--repeats', String(repeats)], {
    env: pythonEnv(),
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    console.error(`python reference failed for ${w}:\n${r.stderr}`);
    return [];
  }
  const lines: Line[] = [];
  for (const text of r.stdout.split('\n')) {
    if (!text.trim()) continue;
    const obj = JSON.parse(text);
    if (obj.versions) pythonInfo = obj;
    else lines.push(obj as Line);
  }
  return lines;
}

/** Distinct ArrayBuffers reachable from the series: the memory it holds. */
function seriesBytes(series: Series): number {
  const seen = new Set<ArrayBufferLike>();
  const visit = (v: unknown) => {
    if (ArrayBuffer.isView(v)) seen.add(v.buffer);
    else if (Array.isArray(v)) v.forEach(visit);
  };
  for (const value of Object.values(series)) visit(value);
  let total = 0;
  for (const b of seen) total += b.byteLength;
  return total;
}

function memoryRun(steps: number) {
  const spec = workloadSpec('W2', steps);
  const before = process.memoryUsage();
  const t0 = performance.now();
  const out = simulate(spec, {}, { backend: defaultBackend() });
  const seconds = (performance.now() - t0) / 1000;
  const after = process.memoryUsage();
  const bytes = seriesBytes(out.series);
  return {
    measure: 'series-memory',
    workload: 'W2',
    steps,
    records: out.series.length,
    seriesBytes: bytes,
    seriesMiB: bytes / 2 ** 20,
    limitMiB: 64,
    withinLimit: bytes <= 64 * 2 ** 20,
    arrayBuffersDeltaMiB: (after.arrayBuffers - before.arrayBuffers) / 2 ** 20,
    rssMiB: after.rss / 2 ** 20,
    stepsPerSec: steps / seconds,
    backend: defaultName(),
  };
}

// ---- run

const backends = [...new Set(opts.backends.split(',').map((b) => (b === 'default' ? defaultName() : b)))].filter(
  (b) => b !== 'fma' || fmaAvailable(),
);
const withPython = pythonAvailable();
const machine = { cpu: cpus()[0]?.model ?? 'unknown', nproc: availableParallelism(), node: process.version };
let cpuModel = machine.cpu;
try {
  cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
} catch {}
console.log(
  `machine: ${cpuModel}, ${machine.nproc} cores, Node ${machine.node}; float64, one thread; median of ${repeats} after a warm-up`,
);
console.log(`default backend: ${defaultName()}; measuring: ${backends.join(', ')}`);
// Other processes skew every figure; the load average says how busy the machine was.
const loadAtStart = loadavg();
if (!withPython)
  console.log(`PyTorch/NumPy references skipped: ${PYTHON} with torch and numpy not found (or --no-python)`);

const lines: Line[] = [];
for (const w of workloads) {
  const spec = workloadSpec(w);
  for (const b of backends) {
    const rates = timeEngine(spec, b);
    lines.push({
      workload: w,
      impl: b === defaultName() ? 'gradient-lab' : `gradient-lab/${b}`,
      dtype: 'float64',
      threads: 1,
      stepsPerSec: median(rates),
      backend: b,
      repeats: rates,
    });
  }
  if (withPython) lines.push(...timePython(w));
}

const rate = (w: WorkloadName, impl: string) => lines.find((l) => l.workload === w && l.impl === impl)?.stepsPerSec;
const fmt = (x: number | undefined, digits = 1) =>
  x === undefined ? '—' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const impls = [...new Set(lines.map((l) => l.impl))];
const table = workloads.map((w) => {
  const row: Record<string, string> = { workload: w };
  for (const impl of impls) row[`${impl} steps/s`] = fmt(rate(w, impl));
  const ours = rate(w, 'gradient-lab');
  const numpy = rate(w, 'numpy');
  const torch = rate(w, 'pytorch');
  if (ours !== undefined && numpy !== undefined) row['× numpy'] = fmt(ours / numpy, 2);
  if (ours !== undefined && torch !== undefined) row['× pytorch'] = fmt(ours / torch, 2);
  const fused = rate(w, 'gradient-lab/fma');
  if (fused !== undefined && numpy !== undefined) row['fma × numpy'] = fmt(fused / numpy, 2);
  const target = TARGETS[w];
  row.target = target === null ? 'report' : `≥ ${target}× numpy`;
  row.met = target === null || numpy === undefined || ours === undefined ? '—' : ours / numpy >= target ? 'yes' : 'no';
  return row;
});
console.table(table);
console.log(`load average (1 min) at start ${loadAtStart[0].toFixed(2)}, at end ${loadavg()[0].toFixed(2)}`);
if (pythonInfo) console.log(JSON.stringify(pythonInfo));
for (const l of lines) console.log(JSON.stringify(l));

if (opts.memory) {
  const m = memoryRun(Number(opts['memory-steps']));
  console.log(
    `memory: ${m.steps.toLocaleString('en-US')}-step W2, every step recorded: series ${fmt(m.seriesMiB, 2)} MiB (limit 64 MiB: ${m.withinLimit ? 'within' : 'OVER'})`,
  );
  console.log(JSON.stringify(m));
}
