// The engine against PyTorch 1.13 (full batch) on the specs in fixtures/torch-cases.json: loss,
// pre- and post-clip global norms, learning rate, parameter norm, per-layer weight-gradient norms,
// per-layer backward-signal norms ‖∂L/∂z_l‖ (linear, mlp; PyTorch's z_l.grad with retain_grad) and
// rnn hidden-state gradient norms, step by step. The reference numbers come from
// fixtures/torch_reference.py (regenerate with the command in its docstring). Tolerance: 1e-13
// relative in float64 (observed ≤ 2e-15: the two sum in different orders, and a few steps of
// training amplify those last-bit differences a little). In float32, 5e-6 relative (observed
// ≤ 7e-7): both round every tensor to float32 (ulp 6e-8), but PyTorch also sums its products in
// float32 while the engine's kernels sum in float64 and round once. Every case runs on both
// backends: the TypeScript kernels, the WebAssembly ones with no small-size fallback, and the
// opt-in FMA WebAssembly kernels (fused multiply-adds: other last bits, the same tolerance).
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { JobSpecInput } from '../../src/contract/spec.js';
import { type Backend, simulate, tsBackend } from '../../src/engine/index.js';
import { createWasmBackend, fmaAvailable } from '../../src/engine/wasm/index.js';
import { parse } from './helpers.js';

interface Reference {
  name: string;
  loss: number[];
  gradNorm: number[];
  clippedGradNorm: number[];
  lr: number[];
  paramNorm: number[];
  layerGradNorm: number[][];
  hiddenGradNorms: number[][];
  backwardNorm: number[][];
}

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8'));
const cases: { name: string; spec: JobSpecInput }[] = fixture('torch-cases.json');
const reference: { cases: Reference[] } = fixture('torch-reference.json');
const TOL = { float64: 1e-13, float32: 5e-6 };

let tol = TOL.float64;

function close(actual: number, expected: number, what: string) {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
  expect(err, `${what}: engine ${actual}, torch ${expected}`).toBeLessThanOrEqual(tol);
}

// Node 20 accepts relaxed SIMD (the FMA kernels) only behind this flag; Node 24 by default, and it no
// longer knows the flag (setting it prints an error): set it only where relaxed SIMD is off.
if (!fmaAvailable()) setFlagsFromString('--experimental-wasm-relaxed-simd');
const backends: Record<string, Backend> = { ts: tsBackend, wasm: createWasmBackend({ minWork: 0 }) };
if (fmaAvailable()) backends.fma = createWasmBackend({ minWork: 0, fma: true });

it('runs the FMA kernels here (Node accepts relaxed SIMD once the flag is set)', () => {
  expect(fmaAvailable()).toBe(true);
});

describe('agreement with PyTorch', () => {
  it.each(cases.flatMap((c, i) => Object.keys(backends).map((backend) => [c.name, backend, i] as const)))(
    '%s (%s kernels)',
    (_, backend, i) => {
      const ref = reference.cases[i];
      expect(ref.name).toBe(cases[i].name);
      const spec = parse(cases[i].spec);
      tol = TOL[spec.training.dtype];
      const { series } = simulate(spec, {}, { backend: backends[backend] });
      expect(series.length).toBe(ref.loss.length);
      for (let s = 0; s < series.length; s++) {
        const at = `step ${s + 1}`;
        close(series.loss[s], ref.loss[s], `loss ${at}`);
        close(series.gradNorm[s], ref.gradNorm[s], `gradNorm ${at}`);
        close(series.clippedGradNorm[s], ref.clippedGradNorm[s], `clippedGradNorm ${at}`);
        close(series.lr[s], ref.lr[s], `lr ${at}`);
        close(series.paramNorm[s], ref.paramNorm[s], `paramNorm ${at}`);
        for (const [l, g] of ref.layerGradNorm[s].entries()) {
          close(series.layerGradNorm[l][s], g, `${series.layerNames[l]} ${at}`);
        }
        if (cases[i].spec.network.kind !== 'rnn') {
          expect(ref.backwardNorm[s].length).toBe(series.layerNames.length);
          for (const [l, g] of ref.backwardNorm[s].entries()) {
            close(series.layerBackwardNorm[l][s], g, `‖∂L/∂z_${l + 1}‖ ${at}`);
          }
        } else {
          expect(series.layerBackwardNorm).toEqual([]);
          for (const [t, g] of ref.hiddenGradNorms[s].entries()) {
            close(series.hiddenGradNorms![s][t], g, `‖∂L/∂h_${t + 1}‖ ${at}`);
          }
        }
      }
      if (spec.training.dtype === 'float32') {
        // …and float32 really rounds: the same spec in float64 lands measurably elsewhere.
        const f64 = simulate({ ...spec, training: { ...spec.training, dtype: 'float64' } }).series;
        const drift = Math.abs(f64.loss[f64.length - 1] / series.loss[series.length - 1] - 1);
        expect(drift).toBeGreaterThan(1e-9);
      }
    },
  );
});
