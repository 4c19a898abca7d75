/**
 * Matrix-product throughput of tsKernels and the WebAssembly kernels on the shapes the benchmark
 * workloads use (forward NT, backward NN and TN). `npx tsx bench/kernels.ts`
 */
import type { Kernels } from '../src/engine/kernels.js';
import { tsKernels } from '../src/engine/kernels.js';
import { createWasmBackend } from '../src/engine/wasm/index.js';

type Op = 'gemmNT' | 'gemmNN' | 'gemmTN';
// [label, m, n, k]: batch × out × in for NT; batch × in × out for NN; out × in × batch for TN.
const SHAPES: [string, number, number, number][] = [
  ['W1 2×2, batch 32', 32, 2, 2],
  ['W2 64×64, batch 64', 64, 64, 64],
  ['W3 64×64, batch 16', 16, 64, 64],
  ['W4 256×256, batch 128', 128, 256, 256],
];

function gflops(
  kernels: Kernels,
  op: Op,
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
) {
  const work = m * n * k;
  const reps = Math.max(20, Math.round(2e8 / (work + 200)));
  for (let r = 0; r < reps / 4; r++) kernels[op](m, n, k, a, b, c, false);
  const best = [];
  for (let trial = 0; trial < 3; trial++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) kernels[op](m, n, k, a, b, c, false);
    best.push((2 * work * reps) / ((performance.now() - t0) * 1e6));
  }
  return Math.max(...best);
}

const wasm = createWasmBackend();
const buffer = wasm.createBuffer(8 * 3 * 256 * 256 + 64);
const rows: Record<string, string | number>[] = [];
for (const [label, m, n, k] of SHAPES) {
  const a = new Float64Array(buffer, 0, m * k);
  const b = new Float64Array(buffer, 8 * m * k, k * n);
  const c = new Float64Array(buffer, 8 * (m * k + k * n), m * n);
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i);
  for (let i = 0; i < b.length; i++) b[i] = Math.cos(i);
  for (const op of ['gemmNT', 'gemmNN', 'gemmTN'] as Op[]) {
    rows.push({
      shape: label,
      op,
      'ts GFLOP/s': +gflops(tsKernels, op, m, n, k, a, b, c).toFixed(2),
      'wasm GFLOP/s': +gflops(wasm.kernels, op, m, n, k, a, b, c).toFixed(2),
    });
  }
}
console.table(rows);
