/**
 * tanh in plain arithmetic. V8 computes Math.tanh through a call into C (fdlibm), which made tanh
 * cost as much as every matrix product of a width-64 network; this version inlines into the
 * activation loop. It stays within 4 ulp of Math.tanh (test/engine/math.test.ts) and, being plain
 * IEEE arithmetic, gives the same bits on every platform.
 */

// Cody–Waite split of ln 2 (fdlibm's constants): k·LN2_HI is exact for k < 2^20.
const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
const INV_LN2 = Math.LOG2E;

/** 2^−k for k = 0..64, exact. */
const POW2_NEG = Float64Array.from({ length: 65 }, (_, k) => 2 ** -k);

// Taylor coefficients 1/n! of expm1 on |r| ≤ ln2/2: the first omitted term, r^14/14!, is below
// 5e-18, a few hundredths of an ulp of the result.
const C2 = 1 / 2;
const C3 = 1 / 6;
const C4 = 1 / 24;
const C5 = 1 / 120;
const C6 = 1 / 720;
const C7 = 1 / 5040;
const C8 = 1 / 40320;
const C9 = 1 / 362880;
const C10 = 1 / 3628800;
const C11 = 1 / 39916800;
const C12 = 1 / 479001600;
const C13 = 1 / 6227020800;

/**
 * tanh(x) = −sign(x)·m/(m + 2) with m = expm1(−2|x|) ∈ (−1, 0], which cancels nowhere. expm1 is
 * reduced to r = −2|x| + k·ln2, |r| ≤ ln2/2, and expm1(−2|x|) = 2^−k·expm1(r) + (2^−k − 1).
 */
export function tanh(x: number): number {
  const ax = x < 0 ? -x : x;
  // tanh rounds to ±1 beyond 19.1; ±0 keeps its sign; NaN fails every comparison and propagates.
  if (ax > 20) return x < 0 ? -1 : 1;
  if (ax === 0) return x;
  const u = -2 * ax;
  const k = (0.5 - u * INV_LN2) | 0;
  const r = u + k * LN2_HI + k * LN2_LO;
  const r2 = r * r;
  const r4 = r2 * r2;
  // Estrin's scheme: the same polynomial with a shorter dependency chain than Horner's.
  const p =
    r *
    (1 +
      r * C2 +
      r2 * (C3 + r * C4) +
      r4 * (C5 + r * C6 + r2 * (C7 + r * C8) + r4 * (C9 + r * C10 + r2 * (C11 + r * C12) + r4 * C13)));
  const s = POW2_NEG[k];
  const m = s * p + (s - 1);
  const t = -m / (m + 2);
  return x < 0 ? -t : t;
}
