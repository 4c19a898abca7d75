/**
 * Dense matrices carried with a power-of-two exponent (value = a·2^exp), so that products of
 * hundreds of layers can grow or shrink far past float64's range without overflowing, while
 * staying bit-exact: scaling by a power of two never rounds (away from subnormals).
 */
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import type { DenseParams } from '../types.js';

export interface ScaledMatrix {
  rows: number;
  cols: number;
  /** Row-major [rows][cols]. */
  a: Float64Array;
  exp: number;
}

// Entries are renormalized only when they leave [2^-RANGE, 2^RANGE]: typical products are then
// never touched, and a product of n×n matrices with entries below 2^RANGE cannot overflow.
const RANGE = 256;

/** x·2^e without intermediate overflow or underflow (Math.pow(2, e) alone overflows past e = 1023). */
export function ldexp(x: number, e: number): number {
  let y = x;
  let k = e;
  while (k > 1000) {
    y *= 2 ** 1000;
    k -= 1000;
    if (!Number.isFinite(y)) return y;
  }
  while (k < -1000) {
    y *= 2 ** -1000;
    k += 1000;
    if (y === 0) return y;
  }
  return y * 2 ** k;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}

function renormalize(s: ScaledMatrix): ScaledMatrix {
  const m = maxAbs(s.a);
  if (!(m > 0) || !Number.isFinite(m) || (m >= 2 ** -RANGE && m <= 2 ** RANGE)) return s;
  const shift = Math.floor(Math.log2(m));
  // 2^-shift itself overflows when the entries are subnormal (shift down to −1074): scale in steps.
  for (let i = 0; i < s.a.length; i++) s.a[i] = ldexp(s.a[i], -shift);
  s.exp += shift;
  return s;
}

export function fromDense(p: DenseParams): ScaledMatrix {
  return renormalize({ rows: p.rows, cols: p.cols, a: Float64Array.from(p.w), exp: 0 });
}

/** A·B in the natural order (entry (i, j) sums k = 0, 1, … left to right), so exact products stay exact. */
export function multiply(A: ScaledMatrix, B: ScaledMatrix): ScaledMatrix {
  const { rows, cols: inner } = A;
  const cols = B.cols;
  const c = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const ci = i * cols;
    for (let k = 0; k < inner; k++) {
      const aik = A.a[i * inner + k];
      if (aik === 0) continue;
      const bk = k * cols;
      for (let j = 0; j < cols; j++) c[ci + j] += aik * B.a[bk + j];
    }
  }
  return renormalize({ rows, cols, a: c, exp: A.exp + B.exp });
}

function toMatrix(s: ScaledMatrix): Matrix {
  return Matrix.from1DArray(s.rows, s.cols, s.a);
}

/** Singular values of the mantissa matrix (descending); the true values are these times 2^exp. */
export function mantissaSingularValues(s: ScaledMatrix): number[] {
  const svd = new SingularValueDecomposition(toMatrix(s), {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
    autoTranspose: true,
  });
  return svd.diagonal.slice(0, Math.min(s.rows, s.cols));
}

export function singularValues(s: ScaledMatrix): number[] {
  return mantissaSingularValues(s).map((v) => ldexp(v, s.exp));
}

/** Largest |eigenvalue| of a square matrix. */
export function spectralRadius(s: ScaledMatrix): number {
  const evd = new EigenvalueDecomposition(toMatrix(s));
  const re = evd.realEigenvalues;
  const im = evd.imaginaryEigenvalues;
  let r = 0;
  for (let i = 0; i < re.length; i++) r = Math.max(r, Math.hypot(re[i], im[i]));
  return ldexp(r, s.exp);
}

export function frobenius(s: ScaledMatrix): number {
  let sum = 0;
  for (let i = 0; i < s.a.length; i++) sum += s.a[i] * s.a[i];
  return ldexp(Math.sqrt(sum), s.exp);
}

/** log10 of (mantissa value)·2^exp, finite whenever the mantissa value is finite and non-zero. */
export function log10Scaled(mantissa: number, exp: number): number {
  return Math.log10(mantissa) + exp * Math.LOG10E * Math.LN2;
}

/**
 * Estimated time in nanoseconds of the operations above on one core, fitted to ml-matrix 6.15 under
 * Node 20 on this 2-core machine while other work shared it (SVD without vectors of n×n: 6–25 ns·n³,
 * the most for n ≤ 64, where overheads dominate; taken as 25;
 * nonsymmetric eigendecomposition: 60 ns·n³; our product loop: 1.5 ns per multiply-add).
 * Unloaded it runs 2–4× faster; the point is the order of magnitude.
 */
export const cost = {
  svd: (rows: number, cols: number) => 25 * rows * cols * Math.min(rows, cols) + 50_000,
  evd: (n: number) => 60 * n * n * n + 50_000,
  multiply: (rows: number, inner: number, cols: number) => 1.5 * rows * inner * cols,
};
