// The WebAssembly SIMD kernels against the TypeScript reference tsKernels. Both sum every element
// of C from +0 in increasing p with one rounding per operation, so the contract is bit-identity;
// a naive triple loop checks both against the definition with a forward-error tolerance.
import { describe, expect, it } from 'vitest';
import { type Kernels, tsKernels } from '../../src/engine/kernels.js';
import { createWasmBackend } from '../../src/engine/wasm/index.js';
import { uniforms as rng } from './helpers.js';

type Op = 'gemmNT' | 'gemmNN' | 'gemmTN';
const OPS: Op[] = ['gemmNT', 'gemmNN', 'gemmTN'];

function fill(v: Float64Array, next: () => number, scale = 1) {
  for (let i = 0; i < v.length; i++) v[i] = (next() * 2 - 1) * scale;
}

// A(i,p) and B(p,j) as each op stores them.
function aAt(op: Op, a: Float64Array, m: number, k: number, i: number, p: number) {
  return op === 'gemmTN' ? a[p * m + i] : a[i * k + p];
}
function bAt(op: Op, b: Float64Array, n: number, k: number, p: number, j: number) {
  return op === 'gemmNT' ? b[j * k + p] : b[p * n + j];
}

/** The definition, with Σ|a||b| per element: the scale of the rounding error (Higham, ch. 3). */
function naive(
  op: Op,
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  b: Float64Array,
  c0: Float64Array,
  acc: boolean,
) {
  const c = new Float64Array(m * n);
  const bound = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      let t = 0;
      for (let p = 0; p < k; p++) {
        const x = aAt(op, a, m, k, i, p) * bAt(op, b, n, k, p, j);
        s += x;
        t += Math.abs(x);
      }
      c[i * n + j] = acc ? c0[i * n + j] + s : s;
      bound[i * n + j] = t + (acc ? Math.abs(c0[i * n + j]) : 0);
    }
  return { c, bound };
}

/** Allocates a, b, c at odd-ish (but 8-byte aligned) offsets inside one backend buffer. */
function operands(buffer: ArrayBuffer, m: number, n: number, k: number, offsetDoubles: number) {
  let at = offsetDoubles * 8;
  const view = (len: number) => {
    const v = new Float64Array(buffer, at, len);
    at += len * 8 + 8; // a gap of one double: views need not be 16-byte aligned
    return v;
  };
  return { a: view(m * k), b: view(k * n), c: view(m * n) };
}

function bitsEqual(x: Float64Array, y: Float64Array) {
  return (
    Buffer.compare(
      Buffer.from(x.buffer, x.byteOffset, x.byteLength),
      Buffer.from(y.buffer, y.byteOffset, y.byteLength),
    ) === 0
  );
}

const SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 64, 65];

describe('WebAssembly SIMD kernels', () => {
  const backend = createWasmBackend({ minWork: 0 }); // every product in WebAssembly, even 1×1×1
  const wasm: Kernels = backend.kernels;
  const buffer = backend.createBuffer(8 * (3 * 130 * 130 + 64));

  it.each(OPS)('%s equals tsKernels bit for bit on edge shapes, and the definition within 1e-13·Σ|a·b|', (op) => {
    const next = rng(op.length * 7919);
    let cases = 0;
    for (const m of SIZES)
      for (const n of SIZES)
        for (const k of [1, 2, 3, 5, 8, 31, 64]) {
          if ((m * n * k) % 3 !== 0 && m > 9 && n > 9) continue; // keep the grid small
          const acc = (m + n + k) % 2 === 0;
          const { a, b, c } = operands(buffer, m, n, k, (m + n + k) % 5);
          fill(a, next);
          fill(b, next, 3);
          fill(c, next);
          const c0 = c.slice();
          const ref = c.slice();
          wasm[op](m, n, k, a, b, c, acc);
          tsKernels[op](m, n, k, a, b, ref, acc);
          expect(bitsEqual(c, ref), `${op} m=${m} n=${n} k=${k} acc=${acc}`).toBe(true);
          const { c: exact, bound } = naive(op, m, n, k, a, b, c0, acc);
          // Forward error of a k-term sum: ≤ k·u·Σ|a·b| (u = 2^-53); 1e-13 covers k ≤ 64 with margin.
          let worst = 0;
          for (let i = 0; i < m * n; i++) worst = Math.max(worst, Math.abs(c[i] - exact[i]) - 1e-13 * bound[i]);
          expect(worst, `${op} m=${m} n=${n} k=${k}`).toBeLessThanOrEqual(0);
          cases++;
        }
    expect(cases).toBeGreaterThan(500);
  });

  it('gemmNT handles several panels of Bᵀ (n > 64) and a long k (narrow panels)', () => {
    const next = rng(42);
    for (const [m, n, k] of [
      [5, 130, 7],
      [3, 70, 5000],
      [9, 10, 9000],
    ] as const) {
      const big = createWasmBackend({ minWork: 0 });
      const buf = big.createBuffer(8 * (m * k + k * n + m * n + 8));
      const { a, b, c } = operands(buf, m, n, k, 0);
      fill(a, next);
      fill(b, next);
      const ref = new Float64Array(m * n);
      big.kernels.gemmNT(m, n, k, a, b, c, false);
      tsKernels.gemmNT(m, n, k, a, b, ref, false);
      expect(bitsEqual(c, ref), `m=${m} n=${n} k=${k}`).toBe(true);
    }
  });

  it('gives identical bits on repeated runs, and k = 0 yields zeros (or leaves C when accumulating)', () => {
    const next = rng(7);
    const { a, b, c } = operands(buffer, 37, 29, 41, 1);
    fill(a, next);
    fill(b, next);
    for (const op of OPS) {
      wasm[op](37, 29, 41, a, b, c, false);
      const first = c.slice();
      for (let r = 0; r < 3; r++) {
        wasm[op](37, 29, 41, a, b, c, false);
        expect(bitsEqual(c, first)).toBe(true);
      }
      const before = c.slice();
      wasm[op](37, 29, 0, a, b, c, true);
      expect(bitsEqual(c, before)).toBe(true);
      wasm[op](37, 29, 0, a, b, c, false);
      expect(c.every((x) => x === 0)).toBe(true);
    }
  });

  it('propagates NaN and Infinity like the reference', () => {
    const { a, b, c } = operands(buffer, 4, 4, 3, 0);
    a.fill(1);
    b.fill(2);
    a[1] = Number.POSITIVE_INFINITY;
    b[5] = Number.NaN;
    for (const op of OPS) {
      const ref = new Float64Array(16);
      wasm[op](4, 4, 3, a, b, c, false);
      tsKernels[op](4, 4, 3, a, b, ref, false);
      expect(Array.from(c)).toEqual(Array.from(ref));
      expect(c.some(Number.isNaN)).toBe(true);
    }
  });

  it('serves views over foreign buffers and several memories, each with the same results', () => {
    const next = rng(3);
    const plain = { a: new Float64Array(6 * 5), b: new Float64Array(5 * 7), c: new Float64Array(6 * 7) };
    fill(plain.a, next);
    fill(plain.b, next);
    const second = operands(backend.createBuffer(4096), 6, 7, 5, 0);
    second.a.set(plain.a);
    second.b.set(plain.b);
    const again = operands(buffer, 6, 7, 5, 0); // the first memory, after a second was made
    again.a.set(plain.a);
    again.b.set(plain.b);
    const ref = new Float64Array(42);
    tsKernels.gemmNN(6, 7, 5, plain.a, plain.b, ref, false);
    wasm.gemmNN(6, 7, 5, plain.a, plain.b, plain.c, false);
    wasm.gemmNN(6, 7, 5, second.a, second.b, second.c, false);
    wasm.gemmNN(6, 7, 5, again.a, again.b, again.c, false);
    for (const c of [plain.c, second.c, again.c]) expect(bitsEqual(c, ref)).toBe(true);
  });

  it('hands out zeroed buffers of at least the requested size', () => {
    const b = createWasmBackend().createBuffer(100_003);
    expect(b.byteLength).toBeGreaterThanOrEqual(100_003);
    expect(new Uint8Array(b).every((x) => x === 0)).toBe(true);
  });
});
