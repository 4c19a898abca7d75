/**
 * Matrix-product kernels. Every matrix is row-major in a Float64Array view whose element 0 is the
 * matrix's first element. With `accumulate` false, C is overwritten; with true, added to.
 * A backend (TypeScript here, WebAssembly in ./wasm) supplies these; the engine calls nothing else
 * for its O(n³) work.
 */
import { tanh } from './math.js';

export interface Kernels {
  /** C[m×n] (+)= A[m×k] · B[n×k]ᵀ */
  gemmNT(m: number, n: number, k: number, a: Float64Array, b: Float64Array, c: Float64Array, accumulate: boolean): void;
  /** C[m×n] (+)= A[m×k] · B[k×n] */
  gemmNN(m: number, n: number, k: number, a: Float64Array, b: Float64Array, c: Float64Array, accumulate: boolean): void;
  /** C[m×n] (+)= A[k×m]ᵀ · B[k×n] */
  gemmTN(m: number, n: number, k: number, a: Float64Array, b: Float64Array, c: Float64Array, accumulate: boolean): void;
  /** dst[i] = tanh(src[i]) for i < n, bit for bit the engine's `tanh` (src/engine/math.ts); dst may be src. */
  tanh(n: number, src: Float64Array, dst: Float64Array): void;
  /**
   * A dense layer's tanh forward after its product: z[r][j] += b[j] (unless b is null), then
   * dst = tanh(z) (dst may be z). Returns 0 when every z is finite, NaN otherwise.
   */
  biasTanh(rows: number, cols: number, z: Float64Array, b: Float64Array | null, dst: Float64Array): number;
  /** dst[i] = src[i]·(1 − out[i]·out[i]) for i < n (the gradient through tanh, from its output); dst may be src. */
  tanhBackward(n: number, src: Float64Array, out: Float64Array, dst: Float64Array): void;
  /** dst[j] = Σ_r x[r][j] over rows × cols, each summed from +0 in increasing r (a bias gradient). */
  columnSums(rows: number, cols: number, x: Float64Array, dst: Float64Array): void;
  /**
   * SGD over one parameter segment: p[i] ← p[i] + (−lr)·g[i] for i < n, where g[i] is first
   * replaced by g[i]·by (mode SGD_SCALE) or by g[i] clamped to [−by, by] (mode SGD_CLAMP; NaN stays
   * NaN). Writes out[0] = Σ(p_new − p_old)², out[1] = Σp_new², out[2] = Σg² of the clipped g (0 in
   * mode SGD_PLAIN), each summed from +0 in increasing i.
   */
  sgdUpdate(
    n: number,
    p: Float64Array,
    g: Float64Array,
    lr: number,
    mode: SgdMode,
    by: number,
    out: Float64Array,
  ): void;
  /** out[s] = Σ_i x[s][i]² for i < n, s < 8 (eight views of at least n elements), each summed from +0 in increasing i. */
  sumSq8(n: number, x: readonly Float64Array[], out: Float64Array): void;
}

/**
 * Where the engine's matrix products run and where its tensors live (backend.ts picks one).
 */
export interface Backend {
  kernels: Kernels;
  /** A zeroed buffer of at least `bytes` bytes that the kernels can address. */
  createBuffer(bytes: number): ArrayBuffer;
  /**
   * Optional: the caller holds no view of `buffer` (from `createBuffer`) any more, and the backend
   * may hand it out again.
   */
  releaseBuffer?(buffer: ArrayBuffer): void;
}

/** sgdUpdate's treatment of the gradient before the step: as is, scaled, clamped. */
export type SgdMode = 0 | 1 | 2;
export const SGD_PLAIN = 0;
export const SGD_SCALE = 1;
export const SGD_CLAMP = 2;

// Register blocking: each inner loop produces a 2×4 block of C from 8 accumulators (then 2×2 and
// 2×1 blocks for the last columns), so every load of A or B feeds several multiply-adds. Every
// element is summed from +0 in increasing p and added to C once, whatever block it falls in: the
// result depends on nothing but the operands (the WebAssembly kernels keep the same promise).

// B of 2×2 (layers two wide, as in the textbook nets): its four entries stay in registers for all
// m rows, instead of being reloaded for every block of rows. Each element is still summed from +0
// in increasing p with one rounding per operation (`0 + x·y` is not `x·y` when x·y is −0), so the
// bits are those of the blocked loops.
function gemm2x2(
  m: number,
  a: Float64Array,
  b00: number,
  b01: number,
  b10: number,
  b11: number,
  c: Float64Array,
  acc: boolean,
) {
  // Row i: c[i][0] = a[i][0]·b00 + a[i][1]·b10, c[i][1] = a[i][0]·b01 + a[i][1]·b11.
  const end = 2 * m;
  if (acc) {
    for (let o = 0; o < end; o += 2) {
      const x0 = a[o];
      const x1 = a[o + 1];
      c[o] += 0 + x0 * b00 + x1 * b10;
      c[o + 1] += 0 + x0 * b01 + x1 * b11;
    }
  } else {
    for (let o = 0; o < end; o += 2) {
      const x0 = a[o];
      const x1 = a[o + 1];
      c[o] = 0 + x0 * b00 + x1 * b10;
      c[o + 1] = 0 + x0 * b01 + x1 * b11;
    }
  }
}

function gemmNT(m: number, n: number, k: number, a: Float64Array, b: Float64Array, c: Float64Array, acc: boolean) {
  // B[n×k] row j holds column j of the product's right operand.
  if (n === 2 && k === 2) return gemm2x2(m, a, b[0], b[2], b[1], b[3], c, acc);
  const m2 = m - (m & 1);
  const n4 = n - (n & 3);
  for (let i = 0; i < m2; i += 2) {
    const a0 = i * k;
    const a1 = a0 + k;
    const c0 = i * n;
    const c1 = c0 + n;
    let j = 0;
    for (; j < n4; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + p];
        const x1 = a[a1 + p];
        const y0 = b[b0 + p];
        const y1 = b[b1 + p];
        const y2 = b[b2 + p];
        const y3 = b[b3 + p];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      if (acc) {
        c[c0 + j] += s00;
        c[c0 + j + 1] += s01;
        c[c0 + j + 2] += s02;
        c[c0 + j + 3] += s03;
        c[c1 + j] += s10;
        c[c1 + j + 1] += s11;
        c[c1 + j + 2] += s12;
        c[c1 + j + 3] += s13;
      } else {
        c[c0 + j] = s00;
        c[c0 + j + 1] = s01;
        c[c0 + j + 2] = s02;
        c[c0 + j + 3] = s03;
        c[c1 + j] = s10;
        c[c1 + j + 1] = s11;
        c[c1 + j + 2] = s12;
        c[c1 + j + 3] = s13;
      }
    }
    if (j + 1 < n) {
      const b0 = j * k;
      const b1 = b0 + k;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + p];
        const x1 = a[a1 + p];
        const y0 = b[b0 + p];
        const y1 = b[b1 + p];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      if (acc) {
        c[c0 + j] += s00;
        c[c0 + j + 1] += s01;
        c[c1 + j] += s10;
        c[c1 + j + 1] += s11;
      } else {
        c[c0 + j] = s00;
        c[c0 + j + 1] = s01;
        c[c1 + j] = s10;
        c[c1 + j + 1] = s11;
      }
      j += 2;
    }
    for (; j < n; j++) {
      const b0 = j * k;
      let s0 = 0;
      let s1 = 0;
      for (let p = 0; p < k; p++) {
        const y = b[b0 + p];
        s0 += a[a0 + p] * y;
        s1 += a[a1 + p] * y;
      }
      if (acc) {
        c[c0 + j] += s0;
        c[c1 + j] += s1;
      } else {
        c[c0 + j] = s0;
        c[c1 + j] = s1;
      }
    }
  }
  if (m2 < m) {
    const a0 = m2 * k;
    const c0 = m2 * n;
    for (let j = 0; j < n; j++) {
      const b0 = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[a0 + p] * b[b0 + p];
      c[c0 + j] = acc ? c[c0 + j] + s : s;
    }
  }
}

// gemmNN and gemmTN differ only in how A is addressed: element (i, p) sits at i·k + p (NN) or
// p·m + i (TN). The two are written out separately so V8 sees constant strides.

function gemmNN(m: number, n: number, k: number, a: Float64Array, b: Float64Array, c: Float64Array, acc: boolean) {
  if (n === 2 && k === 2) return gemm2x2(m, a, b[0], b[1], b[2], b[3], c, acc);
  const m2 = m - (m & 1);
  const n4 = n - (n & 3);
  for (let i = 0; i < m2; i += 2) {
    const a0 = i * k;
    const a1 = a0 + k;
    const c0 = i * n;
    const c1 = c0 + n;
    let j = 0;
    for (; j < n4; j += 4) {
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      let q = j;
      for (let p = 0; p < k; p++, q += n) {
        const x0 = a[a0 + p];
        const x1 = a[a1 + p];
        const y0 = b[q];
        const y1 = b[q + 1];
        const y2 = b[q + 2];
        const y3 = b[q + 3];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      if (acc) {
        c[c0 + j] += s00;
        c[c0 + j + 1] += s01;
        c[c0 + j + 2] += s02;
        c[c0 + j + 3] += s03;
        c[c1 + j] += s10;
        c[c1 + j + 1] += s11;
        c[c1 + j + 2] += s12;
        c[c1 + j + 3] += s13;
      } else {
        c[c0 + j] = s00;
        c[c0 + j + 1] = s01;
        c[c0 + j + 2] = s02;
        c[c0 + j + 3] = s03;
        c[c1 + j] = s10;
        c[c1 + j + 1] = s11;
        c[c1 + j + 2] = s12;
        c[c1 + j + 3] = s13;
      }
    }
    if (j + 1 < n) {
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let q = j;
      for (let p = 0; p < k; p++, q += n) {
        const x0 = a[a0 + p];
        const x1 = a[a1 + p];
        const y0 = b[q];
        const y1 = b[q + 1];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      if (acc) {
        c[c0 + j] += s00;
        c[c0 + j + 1] += s01;
        c[c1 + j] += s10;
        c[c1 + j + 1] += s11;
      } else {
        c[c0 + j] = s00;
        c[c0 + j + 1] = s01;
        c[c1 + j] = s10;
        c[c1 + j + 1] = s11;
      }
      j += 2;
    }
    for (; j < n; j++) {
      let s0 = 0;
      let s1 = 0;
      let q = j;
      for (let p = 0; p < k; p++, q += n) {
        const y = b[q];
        s0 += a[a0 + p] * y;
        s1 += a[a1 + p] * y;
      }
      if (acc) {
        c[c0 + j] += s0;
        c[c1 + j] += s1;
      } else {
        c[c0 + j] = s0;
        c[c1 + j] = s1;
      }
    }
  }
  if (m2 < m) {
    const a0 = m2 * k;
    const c0 = m2 * n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      let q = j;
      for (let p = 0; p < k; p++, q += n) s += a[a0 + p] * b[q];
      c[c0 + j] = acc ? c[c0 + j] + s : s;
    }
  }
}

function gemmTN(m: number, n: number, k: number, a: Float64Array, b: Float64Array, c: Float64Array, acc: boolean) {
  if (m === 2 && n === 2) return gemmTN2x2(k, a, b, c, acc);
  const m2 = m - (m & 1);
  const n4 = n - (n & 3);
  for (let i = 0; i < m2; i += 2) {
    const c0 = i * n;
    const c1 = c0 + n;
    let j = 0;
    for (; j < n4; j += 4) {
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      let r = i;
      let q = j;
      for (let p = 0; p < k; p++, r += m, q += n) {
        const x0 = a[r];
        const x1 = a[r + 1];
        const y0 = b[q];
        const y1 = b[q + 1];
        const y2 = b[q + 2];
        const y3 = b[q + 3];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      if (acc) {
        c[c0 + j] += s00;
        c[c0 + j + 1] += s01;
        c[c0 + j + 2] += s02;
        c[c0 + j + 3] += s03;
        c[c1 + j] += s10;
        c[c1 + j + 1] += s11;
        c[c1 + j + 2] += s12;
        c[c1 + j + 3] += s13;
      } else {
        c[c0 + j] = s00;
        c[c0 + j + 1] = s01;
        c[c0 + j + 2] = s02;
        c[c0 + j + 3] = s03;
        c[c1 + j] = s10;
        c[c1 + j + 1] = s11;
        c[c1 + j + 2] = s12;
        c[c1 + j + 3] = s13;
      }
    }
    if (j + 1 < n) {
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let r = i;
      let q = j;
      for (let p = 0; p < k; p++, r += m, q += n) {
        const x0 = a[r];
        const x1 = a[r + 1];
        const y0 = b[q];
        const y1 = b[q + 1];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      if (acc) {
        c[c0 + j] += s00;
        c[c0 + j + 1] += s01;
        c[c1 + j] += s10;
        c[c1 + j + 1] += s11;
      } else {
        c[c0 + j] = s00;
        c[c0 + j + 1] = s01;
        c[c1 + j] = s10;
        c[c1 + j + 1] = s11;
      }
      j += 2;
    }
    for (; j < n; j++) {
      let s0 = 0;
      let s1 = 0;
      let r = i;
      let q = j;
      for (let p = 0; p < k; p++, r += m, q += n) {
        const y = b[q];
        s0 += a[r] * y;
        s1 += a[r + 1] * y;
      }
      if (acc) {
        c[c0 + j] += s0;
        c[c1 + j] += s1;
      } else {
        c[c0 + j] = s0;
        c[c1 + j] = s1;
      }
    }
  }
  if (m2 < m) {
    const c0 = m2 * n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      let r = m2;
      let q = j;
      for (let p = 0; p < k; p++, r += m, q += n) s += a[r] * b[q];
      c[c0 + j] = acc ? c[c0 + j] + s : s;
    }
  }
}

/** gemmTN for a 2×2 C (the weight gradient of a layer two wide): A and B advance with one stride. */
function gemmTN2x2(k: number, a: Float64Array, b: Float64Array, c: Float64Array, acc: boolean) {
  let s00 = 0;
  let s01 = 0;
  let s10 = 0;
  let s11 = 0;
  const end = 2 * k;
  for (let o = 0; o < end; o += 2) {
    const x0 = a[o];
    const x1 = a[o + 1];
    const y0 = b[o];
    const y1 = b[o + 1];
    s00 += x0 * y0;
    s01 += x0 * y1;
    s10 += x1 * y0;
    s11 += x1 * y1;
  }
  if (acc) {
    c[0] += s00;
    c[1] += s01;
    c[2] += s10;
    c[3] += s11;
  } else {
    c[0] = s00;
    c[1] = s01;
    c[2] = s10;
    c[3] = s11;
  }
}

function tanhArray(n: number, src: Float64Array, dst: Float64Array): void {
  for (let i = 0; i < n; i++) dst[i] = tanh(src[i]);
}

function biasTanh(rows: number, cols: number, z: Float64Array, b: Float64Array | null, dst: Float64Array): number {
  // Σ (v − v) is 0 for finite v and NaN otherwise, whatever the order: a probe, not a sum.
  let probe = 0;
  if (b === null) {
    const n = rows * cols;
    for (let i = 0; i < n; i++) {
      const v = z[i];
      probe += v - v;
      dst[i] = tanh(v);
    }
    return probe;
  }
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    for (let j = 0; j < cols; j++) {
      const v = z[o + j] + b[j];
      z[o + j] = v;
      probe += v - v;
      dst[o + j] = tanh(v);
    }
  }
  return probe;
}

function tanhBackward(n: number, src: Float64Array, out: Float64Array, dst: Float64Array): void {
  for (let i = 0; i < n; i++) dst[i] = src[i] * (1 - out[i] * out[i]);
}

function columnSums(rows: number, cols: number, x: Float64Array, dst: Float64Array): void {
  for (let j = 0; j < cols; j++) dst[j] = 0;
  for (let r = 0, o = 0; r < rows; r++, o += cols) for (let j = 0; j < cols; j++) dst[j] += x[o + j];
}

function sgdUpdate(
  n: number,
  p: Float64Array,
  g: Float64Array,
  lr: number,
  mode: SgdMode,
  by: number,
  out: Float64Array,
): void {
  let acc = 0;
  let accP = 0;
  let accC = 0;
  const lo = -by;
  for (let i = 0; i < n; i++) {
    let x = g[i];
    if (mode !== SGD_PLAIN) {
      x = mode === SGD_SCALE ? x * by : Math.min(by, Math.max(lo, x));
      g[i] = x;
      accC += x * x;
    }
    const old = p[i];
    const q = old + -lr * x;
    p[i] = q;
    accP += q * q;
    acc += (q - old) * (q - old);
  }
  out[0] = acc;
  out[1] = accP;
  out[2] = accC;
}

function sumSq8(n: number, x: readonly Float64Array[], out: Float64Array): void {
  for (let s = 0; s < 8; s++) {
    const v = x[s];
    let acc = 0;
    for (let i = 0; i < n; i++) acc += v[i] * v[i];
    out[s] = acc;
  }
}

/** The pure-TypeScript reference kernels (register-blocked 2×4, 2×2, 2×1). */
export const tsKernels: Kernels = {
  gemmNT,
  gemmNN,
  gemmTN,
  tanh: tanhArray,
  biasTanh,
  tanhBackward,
  columnSums,
  sgdUpdate,
  sumSq8,
};
