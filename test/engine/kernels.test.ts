// The TypeScript kernels against the definition of a matrix product, and the arena's layout.
import { describe, expect, it } from 'vitest';
import { Arena, arenaBytes } from '../../src/engine/arena.js';
import { tsKernels } from '../../src/engine/kernels.js';
import { Rng } from '../../src/engine/rng.js';

function random(n: number, rng: Rng): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

/** The definition, summed in increasing p from 0, as the kernels promise. */
function naive(
  m: number,
  n: number,
  k: number,
  at: (i: number, p: number) => number,
  bt: (p: number, j: number) => number,
) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += at(i, p) * bt(p, j);
      c[i * n + j] = s;
    }
  return c;
}

// Odd and even sizes, to cover the 2×4 blocks and every remainder path.
const shapes = [
  [1, 1, 1],
  [2, 4, 3],
  [3, 5, 7],
  [5, 3, 1],
  [8, 8, 8],
  [7, 9, 13],
  [17, 6, 2],
  // The 2×2 right-operand path (layers two wide), odd and even m.
  [5, 2, 2],
  [32, 2, 2],
  // gemmTN's 2×2 path (a two-wide layer's weight gradient), short and long sums.
  [2, 2, 1],
  [2, 2, 32],
] as const;

describe('tsKernels', () => {
  it.each(shapes)('gemmNT, gemmNN, gemmTN match the definition bit for bit (m=%i n=%i k=%i)', (m, n, k) => {
    const rng = new Rng(1, m * 100 + n * 10 + k);
    const a = random(m * k, rng);
    const bNT = random(n * k, rng);
    const bNN = random(k * n, rng);
    const c = new Float64Array(m * n);
    tsKernels.gemmNT(m, n, k, a, bNT, c, false);
    expect(c).toEqual(
      naive(
        m,
        n,
        k,
        (i, p) => a[i * k + p],
        (p, j) => bNT[j * k + p],
      ),
    );
    tsKernels.gemmNN(m, n, k, a, bNN, c, false);
    expect(c).toEqual(
      naive(
        m,
        n,
        k,
        (i, p) => a[i * k + p],
        (p, j) => bNN[p * n + j],
      ),
    );
    const aT = random(k * m, rng);
    tsKernels.gemmTN(m, n, k, aT, bNN, c, false);
    expect(c).toEqual(
      naive(
        m,
        n,
        k,
        (i, p) => aT[p * m + i],
        (p, j) => bNN[p * n + j],
      ),
    );
  });

  it.each(shapes)('accumulate adds the product to C (m=%i n=%i k=%i)', (m, n, k) => {
    const rng = new Rng(2, m + n + k);
    const a = random(m * k, rng);
    const b = random(n * k, rng);
    const c0 = random(m * n, rng);
    const c = Float64Array.from(c0);
    tsKernels.gemmNT(m, n, k, a, b, c, true);
    const prod = naive(
      m,
      n,
      k,
      (i, p) => a[i * k + p],
      (p, j) => b[j * k + p],
    );
    expect(c).toEqual(c0.map((x, i) => x + prod[i]));
  });

  it('works on views whose element 0 is the matrix start (arena subviews)', () => {
    const arena = new Arena(new ArrayBuffer(arenaBytes([3, 6, 6, 4])));
    const pad = arena.f64(3);
    const a = arena.f64(6);
    const b = arena.f64(6);
    const c = arena.f64(4);
    pad.fill(99);
    a.set([1, 2, 3, 4, 5, 6]);
    b.set([1, 0, 0, 1, 1, 1]);
    // A 2×3, B 2×3: C = A·Bᵀ
    tsKernels.gemmNT(2, 2, 3, a, b, c, false);
    expect(Array.from(c)).toEqual([1, 1 + 2 + 3, 4, 4 + 5 + 6]);
    expect(Array.from(pad)).toEqual([99, 99, 99]);
  });
});

describe('Arena', () => {
  it('carves zeroed views on 16-byte boundaries and refuses to overflow', () => {
    const lengths = [3, 1, 5];
    const arena = new Arena(new ArrayBuffer(arenaBytes(lengths)));
    const views = lengths.map((n) => arena.f64(n));
    for (const v of views) {
      expect(v.byteOffset % 16).toBe(0);
      expect(Array.from(v).every((x) => x === 0)).toBe(true);
    }
    expect(views.map((v) => v.length)).toEqual(lengths);
    expect(() => arena.f64(1)).toThrow(/exhausted/);
  });
});
