/**
 * What the opt-in FMA kernels buy on this CPU, measured where wall time cannot be trusted (a shared
 * machine): W2–W4 through `simulate` with the exact WebAssembly kernels and the FMA ones, runs
 * interleaved (exact, FMA, exact, …), each timed by the process's CPU time, so neighbours on the
 * cores slow both alike instead of whichever ran while they were busy. Prints one JSON line per
 * workload: median steps per CPU second of each, and the FMA gain. docs/bench.md, "FMA kernels on
 * which CPU".
 *
 *   npx tsx bench/fma-cpu.ts          # 5 pairs after a warm-up
 *   npx tsx bench/fma-cpu.ts 9        # 9 pairs
 */
import { simulate } from '../src/engine/index.js';
import { createWasmBackend, fmaAvailable } from '../src/engine/wasm/index.js';
import { workloadSpec } from './workloads.js';

if (!fmaAvailable()) {
  console.error('this Node runs no relaxed SIMD: the FMA kernels cannot run here');
  process.exit(1);
}
const exact = createWasmBackend();
const fma = createWasmBackend({ fma: true });
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const pairs = Number(process.argv[2] ?? 5);

for (const w of ['W2', 'W3', 'W4'] as const) {
  const spec = workloadSpec(w);
  const stepsPerCpuSecond = (backend: typeof exact) => {
    const c0 = cpuSeconds();
    simulate(spec, {}, { backend });
    return spec.training.steps / (cpuSeconds() - c0);
  };
  stepsPerCpuSecond(exact);
  stepsPerCpuSecond(fma);
  const e: number[] = [];
  const f: number[] = [];
  for (let i = 0; i < pairs; i++) {
    e.push(stepsPerCpuSecond(exact));
    f.push(stepsPerCpuSecond(fma));
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  console.log(
    JSON.stringify({
      workload: w,
      exactStepsPerCpuSec: round(median(e)),
      fmaStepsPerCpuSec: round(median(f)),
      fmaGain: Math.round((median(f) / median(e) - 1) * 1000) / 1000,
      exact: e.map(round),
      fma: f.map(round),
    }),
  );
}
