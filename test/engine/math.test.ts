// The engine's tanh against V8's Math.tanh (fdlibm, < 1 ulp from the true value): at most 4 ulp
// apart, i.e. a relative error below 1e-15, over the whole range and near the special points.
import { describe, expect, it } from 'vitest';
import { tanh } from '../../src/engine/math.js';
import { Rng } from '../../src/engine/rng.js';

function ulp(y: number): number {
  const b = new Float64Array([Math.abs(y)]);
  const u = new BigInt64Array(b.buffer);
  u[0] += 1n;
  return b[0] - Math.abs(y);
}

function maxUlpError(xs: Iterable<number>): { ulps: number; at: number } {
  let worst = { ulps: 0, at: 0 };
  for (const x of xs) {
    const e = Math.abs(tanh(x) - Math.tanh(x)) / ulp(Math.tanh(x));
    if (e > worst.ulps) worst = { ulps: e, at: x };
  }
  return worst;
}

describe('tanh', () => {
  it('is within 4 ulp of Math.tanh on 400,000 points from 1e-12 to 25 in magnitude', () => {
    const rng = new Rng(1);
    const xs: number[] = [];
    for (let i = 0; i < 200_000; i++) xs.push((rng.uniform() - 0.5) * 50);
    for (let i = 0; i < 200_000; i++) xs.push((rng.uniform() < 0.5 ? -1 : 1) * 10 ** (-12 + 12 * rng.uniform()));
    const { ulps, at } = maxUlpError(xs);
    expect(ulps, `at x = ${at}`).toBeLessThanOrEqual(4);
  });

  it('around the reduction boundaries k·ln2/2 and the cut-off at 20', () => {
    const xs: number[] = [];
    for (let k = 1; k < 60; k++) for (let d = -1e-9; d <= 1e-9; d += 2.5e-10) xs.push((k * Math.LN2) / 4 + d);
    for (let x = 19; x <= 21; x += 0.01) xs.push(x, -x);
    expect(maxUlpError(xs).ulps).toBeLessThanOrEqual(4);
  });

  it('special values', () => {
    expect(Object.is(tanh(0), 0)).toBe(true);
    expect(Object.is(tanh(-0), -0)).toBe(true);
    expect(tanh(Number.POSITIVE_INFINITY)).toBe(1);
    expect(tanh(Number.NEGATIVE_INFINITY)).toBe(-1);
    expect(tanh(Number.NaN)).toBeNaN();
    expect(tanh(1e-300)).toBe(1e-300);
    expect(tanh(-3)).toBe(-tanh(3));
  });
});
