// End to end: the WebAssembly backend must not change a single bit of what simulate records,
// on the benchmark workloads (shortened) in float64 and float32 — the backend choice is then
// invisible to clients, and switching the default cannot break reproducibility.
import { describe, expect, it } from 'vitest';
import { type WorkloadName, workloadSpec } from '../../bench/workloads.js';
import { type Series, simulate, tsBackend } from '../../src/engine/index.js';
import { createWasmBackend } from '../../src/engine/wasm/index.js';

function columns(s: Series): Float64Array[] {
  return [
    s.loss,
    s.gradNorm,
    s.clippedGradNorm,
    s.lr,
    s.paramNorm,
    ...s.layerGradNorm,
    ...s.layerWeightNorm,
    ...s.layerUpdateRatio,
  ];
}

const CASES: [WorkloadName, number, 'float64' | 'float32'][] = [
  ['W1', 50, 'float64'],
  ['W2', 4, 'float64'],
  ['W2', 4, 'float32'],
  ['W3', 2, 'float64'],
  ['W4', 2, 'float64'],
];

describe('WebAssembly backend in simulate', () => {
  it.each(CASES)('%s (%i steps, %s) records the same bits as the TypeScript backend', (name, steps, dtype) => {
    const base = workloadSpec(name, steps);
    const spec = { ...base, training: { ...base.training, dtype } };
    const ts = simulate(spec, {}, { backend: tsBackend }).series;
    const wasm = simulate(spec, {}, { backend: createWasmBackend() }).series;
    expect(wasm.length).toBe(steps);
    expect(ts.length).toBe(steps);
    const a = columns(ts);
    const b = columns(wasm);
    for (let i = 0; i < a.length; i++) {
      expect(
        Buffer.from(b[i].buffer, b[i].byteOffset, b[i].byteLength).equals(
          Buffer.from(a[i].buffer, a[i].byteOffset, a[i].byteLength),
        ),
      ).toBe(true);
    }
    expect(Number.isFinite(wasm.loss[0])).toBe(true);
  });
});

describe('WebAssembly memory reuse', () => {
  it('a released memory comes back zeroed, and a run on it records the bits of a run on a fresh one', () => {
    const backend = createWasmBackend();
    const first = backend.createBuffer(4096);
    new Float64Array(first).fill(7);
    backend.releaseBuffer?.(first);
    const again = backend.createBuffer(4096);
    // Same size class, so the pool hands back the same memory, cleared over the tensors' bytes.
    expect(again).toBe(first);
    expect(new Float64Array(again, 0, 512).every((x) => Object.is(x, 0))).toBe(true);
    backend.releaseBuffer?.(again);

    // A W2 run leaves its memory (with gemmNT's scratch panels) in the pool; W2 again on it and
    // W2 with the TypeScript kernels must agree to the bit.
    const spec = workloadSpec('W2', 3);
    const fresh = simulate(spec, {}, { backend: tsBackend }).series;
    const r1 = simulate(spec, {}, { backend }).series;
    simulate(workloadSpec('W1', 3), {}, { backend });
    const r2 = simulate(spec, {}, { backend }).series;
    for (const s of [r1, r2]) {
      const a = columns(fresh);
      const b = columns(s);
      for (let i = 0; i < a.length; i++) expect(Buffer.from(b[i].buffer).equals(Buffer.from(a[i].buffer))).toBe(true);
    }
  });
});
