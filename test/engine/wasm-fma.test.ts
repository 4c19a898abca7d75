// The opt-in FMA WebAssembly kernels (createWasmBackend({ fma: true })): every multiply-add of a
// product, and of tanh's polynomial, is fused (one rounding instead of two), so they are not
// bit-identical to tsKernels. What they must be instead: products within the forward-error bound
// of the definition (Higham, ch. 3: k·u·Σ|a·b|, the same bound the exact kernels are held to),
// tanh within 4 ulp of Math.tanh (as the engine's own tanh, test/engine/math.test.ts), training
// within a few ulp-steps of the exact backend, and deterministic: the same bits on every run on
// one machine. PyTorch agreement is in torch.test.ts (the fma backend there).
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { type WorkloadName, workloadSpec } from '../../bench/workloads.js';
import { type Series, simulate, tsBackend } from '../../src/engine/index.js';
import { tsKernels } from '../../src/engine/kernels.js';
import { tanh } from '../../src/engine/math.js';
import { createWasmBackend, fmaAvailable } from '../../src/engine/wasm/index.js';
import { uniforms as rng } from './helpers.js';

// Node 20 accepts relaxed SIMD only behind this flag (process-wide; it changes nothing else). Node 24
// runs it by default and no longer knows the flag (setting it prints an error): set it only if needed.
if (!fmaAvailable()) setFlagsFromString('--experimental-wasm-relaxed-simd');

const bits = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
const ulp = (x: number) => {
  const a = Math.abs(x);
  return a < 2 ** -1022 ? 2 ** -1074 : 2 ** (Math.floor(Math.log2(a)) - 52);
};

function columns(s: Series): Float64Array[] {
  return [
    s.loss,
    s.gradNorm,
    s.clippedGradNorm,
    s.paramNorm,
    ...s.layerGradNorm,
    ...s.layerWeightNorm,
    ...s.layerUpdateRatio,
  ].map((c) => c.subarray(0, s.length));
}

describe('FMA WebAssembly kernels', () => {
  it('are available in this Node once relaxed SIMD is enabled', () => {
    expect(fmaAvailable()).toBe(true);
  });

  const backend = createWasmBackend({ minWork: 0, fma: true });
  const fma = backend.kernels;
  const buffer = backend.createBuffer(8 * 3 * 70 * 70 + 64);

  it('fuse: (0 + 1·(−1)) + (1 + 2⁻³⁰)(1 − 2⁻³⁰) is −2⁻⁶⁰ with one rounding, 0 with two', () => {
    // C[0][0] of a 4×4 product with k = 2 (a register tile); every other operand is 0.
    const a = new Float64Array(buffer, 0, 8);
    const b = new Float64Array(buffer, 64, 8);
    const c = new Float64Array(buffer, 128, 16);
    for (const op of ['gemmNT', 'gemmNN', 'gemmTN'] as const) {
      a.fill(0);
      b.fill(0);
      // A(0,p) at p (NT, NN: row-major 4×2) or at 4p (TN: 2×4); B(p,0) at p (NT: 4×2) or 4p (NN, TN: 2×4).
      const sa = op === 'gemmTN' ? 4 : 1;
      const sb = op === 'gemmNT' ? 1 : 4;
      a[0] = 1;
      a[sa] = 1 + 2 ** -30;
      b[0] = -1;
      b[sb] = 1 - 2 ** -30;
      fma[op](4, 4, 2, a, b, c, false);
      expect(c[0], `${op} on this CPU (x64 with FMA3)`).toBe(-(2 ** -60));
      tsKernels[op](4, 4, 2, a, b, c, false);
      expect(c[0]).toBe(0);
    }
  });

  it.each(['gemmNT', 'gemmNN', 'gemmTN'] as const)(
    '%s stays within k·u·Σ|a·b| of the definition and repeats its bits',
    (op) => {
      const next = rng(op.length * 31);
      for (const [m, n, k] of [
        [64, 64, 64],
        [16, 64, 64],
        [5, 7, 3],
        [33, 17, 65],
        [4, 4, 1],
      ] as const) {
        const a = new Float64Array(buffer, 0, m * k);
        const b = new Float64Array(buffer, 8 * m * k, k * n);
        const c = new Float64Array(buffer, 8 * (m * k + k * n), m * n);
        for (const v of [a, b]) for (let i = 0; i < v.length; i++) v[i] = next() * 2 - 1;
        fma[op](m, n, k, a, b, c, false);
        const first = c.slice();
        fma[op](m, n, k, a, b, c, false);
        expect(bits(c).equals(bits(first))).toBe(true);
        const A = (i: number, p: number) => (op === 'gemmTN' ? a[p * m + i] : a[i * k + p]);
        const B = (p: number, j: number) => (op === 'gemmNT' ? b[j * k + p] : b[p * n + j]);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = 0;
            let t = 0;
            for (let p = 0; p < k; p++) {
              s += A(i, p) * B(p, j);
              t += Math.abs(A(i, p) * B(p, j));
            }
            expect(Math.abs(c[i * n + j] - s)).toBeLessThanOrEqual(2 * k * 2 ** -53 * t);
          }
      }
    },
  );

  it('tanh is within 4 ulp of Math.tanh and keeps the specials of the exact tanh', () => {
    const n = 49_000;
    const src = new Float64Array(buffer, 0, 4900);
    let worst = 0;
    let s = 99;
    for (let start = 0; start < n; start += src.length) {
      for (let i = 0; i < src.length; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        src[i] = (i % 2 ? -1 : 1) * 10 ** ((s / 2 ** 32) * 8 - 6);
      }
      const dst = new Float64Array(buffer, 8 * src.length + 16, src.length);
      fma.tanh(src.length, src, dst);
      for (let i = 0; i < src.length; i++) {
        const want = Math.tanh(src[i]);
        worst = Math.max(worst, Math.abs(dst[i] - want) / ulp(want));
      }
    }
    expect(worst).toBeLessThanOrEqual(4);
    const specials = [0, -0, 20, -20, 25, -1e300, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN];
    const sp = new Float64Array(buffer, 0, 18);
    sp.fill(0.5);
    sp.set(specials);
    const out = new Float64Array(buffer, 8 * 20, 18);
    fma.tanh(18, sp, out);
    for (let i = 0; i < specials.length; i++)
      expect(Object.is(out[i], tanh(specials[i])), `tanh(${specials[i]})`).toBe(true);
  });

  it.each([
    ['W2', 6],
    ['W3', 3],
  ] as [WorkloadName, number][])(
    '%s (%i steps) trains within 1e-12 of the exact backend, and repeats its bits run after run',
    (name, steps) => {
      const spec = workloadSpec(name, steps);
      const exact = columns(simulate(spec, {}, { backend: tsBackend }).series);
      const fused = createWasmBackend({ fma: true });
      const runs = [0, 1, 2].map(() => columns(simulate(spec, {}, { backend: fused }).series));
      for (let c = 0; c < exact.length; c++) {
        expect(bits(runs[1][c]).equals(bits(runs[0][c]))).toBe(true);
        expect(bits(runs[2][c]).equals(bits(runs[0][c]))).toBe(true);
        for (let i = 0; i < steps; i++) {
          const want = exact[c][i];
          const got = runs[0][c][i];
          expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-12 * Math.abs(want));
        }
      }
      // …and it is another computation: some recorded number differs in its last bits.
      expect(exact.some((col, c) => !bits(col).equals(bits(runs[0][c])))).toBe(true);
    },
  );

  it('keeps its memories apart from the exact backend’s: a released FMA memory is not reused there', () => {
    const fused = createWasmBackend({ fma: true });
    const exact = createWasmBackend();
    const m = fused.createBuffer(12_345);
    fused.releaseBuffer?.(m);
    const e = exact.createBuffer(12_345);
    expect(e).not.toBe(m);
    exact.releaseBuffer?.(e);
    expect(fused.createBuffer(12_345)).toBe(m);
  });
});
