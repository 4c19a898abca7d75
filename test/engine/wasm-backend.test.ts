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
