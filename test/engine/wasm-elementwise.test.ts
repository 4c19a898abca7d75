// The element-wise kernels of a training step (biasTanh, tanhBackward, columnSums) run in
// WebAssembly f64x2 lanes with the operations, and for sums the order, of their TypeScript
// versions in tsKernels, so the two must agree bit for bit on every shape, odd widths and
// specials included; and the TypeScript versions must be what they claim (checked against the
// definitions written out here).
import { describe, expect, it } from 'vitest';
import { SGD_CLAMP, SGD_PLAIN, SGD_SCALE, type SgdMode, tsKernels } from '../../src/engine/kernels.js';
import { tanh } from '../../src/engine/math.js';
import { createWasmBackend } from '../../src/engine/wasm/index.js';
import { uniforms as rng } from './helpers.js';

const bits = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
const same = (x: Float64Array, y: Float64Array) => bits(x).equals(bits(y));

const SPECIALS = [0, -0, 20, -20, 1e-320, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1e308];
const SHAPES: [number, number][] = [
  [1, 1],
  [1, 17],
  [3, 2],
  [5, 7],
  [8, 9],
  [16, 64],
  [64, 64],
  [7, 65],
  [100, 3],
];

describe('element-wise WebAssembly kernels', () => {
  const backend = createWasmBackend();
  const wasm = backend.kernels;
  const buffer = backend.createBuffer(8 * 200_000);
  let at = 8;
  // Disjoint views one double apart, so some start off the 16-byte grid.
  const view = (n: number) => {
    const v = new Float64Array(buffer, at, n);
    at += 8 * n + 8;
    return v;
  };

  it.each(SHAPES)(
    'biasTanh %i×%i equals the TypeScript kernel and the definition, with and without a bias',
    (rows, cols) => {
      const next = rng(rows * 131 + cols);
      for (const withBias of [true, false]) {
        for (const inPlace of [false, true]) {
          const n = rows * cols;
          const z = view(n);
          for (let i = 0; i < n; i++) z[i] = (next() - 0.5) * 6;
          const b = withBias ? view(cols) : null;
          if (b) for (let j = 0; j < cols; j++) b[j] = next() - 0.5;
          const zTs = z.slice();
          const bTs = b ? b.slice() : null;
          const dst = inPlace ? z : view(n);
          const dstTs = inPlace ? zTs : new Float64Array(n);
          const expectZ = new Float64Array(n);
          for (let r = 0; r < rows; r++)
            for (let j = 0; j < cols; j++) expectZ[r * cols + j] = z[r * cols + j] + (b ? b[j] : 0);
          const pw = wasm.biasTanh(rows, cols, z, b, dst);
          const pt = tsKernels.biasTanh(rows, cols, zTs, bTs, dstTs);
          expect(pw).toBe(0);
          expect(pt).toBe(0);
          expect(same(dst, dstTs), `rows=${rows} cols=${cols} bias=${withBias} inPlace=${inPlace}`).toBe(true);
          if (!inPlace) {
            expect(same(z, zTs)).toBe(true);
            // z + 0 is not z when z is −0, so compare with the bias-free input only where a bias was added.
            if (b) expect(same(z, expectZ)).toBe(true);
            for (let i = 0; i < n; i++) expect(Object.is(dst[i], tanh(z[i]))).toBe(true);
          }
        }
      }
    },
  );

  it('biasTanh reports a non-finite pre-activation (NaN probe) and maps the specials like tanh', () => {
    for (const withBias of [false, true]) {
      const n = SPECIALS.length;
      const z = view(n);
      z.set(SPECIALS);
      const zTs = z.slice();
      const b = withBias ? view(n) : null;
      const dst = view(n);
      const dstTs = new Float64Array(n);
      expect(wasm.biasTanh(1, n, z, b, dst)).toBeNaN();
      expect(tsKernels.biasTanh(1, n, zTs, b ? new Float64Array(n) : null, dstTs)).toBeNaN();
      expect(same(dst, dstTs)).toBe(true);
      const finite = view(4);
      finite.set([1, -2, 3, 1e300]);
      expect(wasm.biasTanh(2, 2, finite, b === null ? null : view(2), view(4))).toBe(0);
    }
  });

  it.each(SHAPES)(
    'tanhBackward and columnSums %i×%i equal the TypeScript kernels and the definitions',
    (rows, cols) => {
      const next = rng(rows * 7 + cols * 3);
      const n = rows * cols;
      const g = view(n);
      const out = view(n);
      for (let i = 0; i < n; i++) {
        g[i] = (next() - 0.5) * 10;
        out[i] = tanh((next() - 0.5) * 4);
      }
      if (n > 3) g[2] = -0;
      const dst = view(n);
      const ref = new Float64Array(n);
      wasm.tanhBackward(n, g, out, dst);
      tsKernels.tanhBackward(n, g, out, ref);
      expect(same(dst, ref)).toBe(true);
      for (let i = 0; i < n; i++) expect(Object.is(dst[i], g[i] * (1 - out[i] * out[i]))).toBe(true);
      const inPlace = g.slice();
      const gv = view(n);
      gv.set(g);
      wasm.tanhBackward(n, gv, out, gv);
      tsKernels.tanhBackward(n, inPlace, out, inPlace);
      expect(same(gv, inPlace)).toBe(true);

      const sums = view(cols);
      sums.fill(7); // overwritten, not accumulated
      const sumsTs = new Float64Array(cols);
      wasm.columnSums(rows, cols, g, sums);
      tsKernels.columnSums(rows, cols, g, sumsTs);
      expect(same(sums, sumsTs)).toBe(true);
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += g[r * cols + j];
        expect(Object.is(sums[j], s)).toBe(true);
      }
    },
  );

  it('columnSums of a column of −0 is +0 (summed from +0), and NaN propagates', () => {
    const x = view(3 * 20);
    x.fill(-0);
    x[5] = Number.NaN;
    const s = view(20);
    wasm.columnSums(3, 20, x, s);
    expect(Object.is(s[0], 0)).toBe(true);
    expect(s[5]).toBeNaN();
    const ref = new Float64Array(20);
    tsKernels.columnSums(3, 20, x, ref);
    expect(same(s, ref)).toBe(true);
  });

  it.each([1, 2, 15, 16, 17, 64, 4097])(
    'sgdUpdate over %i elements equals the TypeScript kernel and the definition',
    (n) => {
      const next = rng(n * 17 + 1);
      for (const mode of [SGD_PLAIN, SGD_SCALE, SGD_CLAMP] as SgdMode[]) {
        const p = view(n);
        const g = view(n);
        for (let i = 0; i < n; i++) {
          p[i] = (next() - 0.5) * 4;
          g[i] = (next() - 0.5) * 2;
        }
        if (n > 5) {
          g[3] = Number.NaN;
          g[4] = -0;
          p[5] = -0;
        }
        const p0 = p.slice();
        const g0 = g.slice();
        const pTs = p.slice();
        const gTs = g.slice();
        const lr = 0.01;
        const by = mode === SGD_SCALE ? 0.37 : 0.3;
        const out = new Float64Array(3);
        const outTs = new Float64Array(3);
        wasm.sgdUpdate(n, p, g, lr, mode, by, out);
        tsKernels.sgdUpdate(n, pTs, gTs, lr, mode, by, outTs);
        expect(same(p, pTs) && same(g, gTs) && same(out, outTs), `n=${n} mode=${mode}`).toBe(true);
        // The definition: clip (or not), step, and three sums from +0 in increasing index.
        let d = 0;
        let q = 0;
        let c = 0;
        for (let i = 0; i < n; i++) {
          let x = g0[i];
          if (mode === SGD_SCALE) x *= by;
          else if (mode === SGD_CLAMP) x = Math.min(by, Math.max(-by, x));
          expect(Object.is(g[i], mode === SGD_PLAIN ? g0[i] : x)).toBe(true);
          const np = p0[i] + -lr * x;
          expect(Object.is(p[i], np)).toBe(true);
          d += (np - p0[i]) * (np - p0[i]);
          q += np * np;
          if (mode !== SGD_PLAIN) c += x * x;
        }
        expect([out[0], out[1], out[2]]).toEqual([d, q, c]);
      }
    },
  );

  it.each([1, 15, 16, 17, 4096])(
    'sumSq8 over %i elements equals the TypeScript kernel and eight sums in index order',
    (n) => {
      const next = rng(n + 5);
      const xs = Array.from({ length: 8 }, () => {
        const v = view(n + 3); // longer than n: only the first n count
        for (let i = 0; i < v.length; i++) v[i] = (next() - 0.5) * 8;
        return v;
      });
      if (n > 4) xs[5][2] = Number.POSITIVE_INFINITY;
      const out = new Float64Array(8);
      const ref = new Float64Array(8);
      wasm.sumSq8(n, xs, out);
      tsKernels.sumSq8(n, xs, ref);
      expect(same(out, ref)).toBe(true);
      for (let s = 0; s < 8; s++) {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += xs[s][i] * xs[s][i];
        expect(Object.is(out[s], acc)).toBe(true);
      }
      // Views over another buffer fall back to the TypeScript kernel, with the same sums.
      const plain = xs.map((v) => v.slice());
      const out2 = new Float64Array(8);
      wasm.sumSq8(n, plain, out2);
      expect(same(out2, ref)).toBe(true);
    },
  );
});
