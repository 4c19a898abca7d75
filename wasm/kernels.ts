// AssemblyScript source of the WebAssembly SIMD kernels (src/engine/wasm): the matrix products
// and the element-wise passes of a training step. Build: npx tsx scripts/build-wasm.ts, which
// compiles it twice (asc --enable simd -O3, and the same with --enable relaxed-simd for the
// opt-in FMA module) and regenerates src/engine/wasm/kernels.generated.ts.
//
// Contract (shared with src/engine/kernels.ts, whose tsKernels is the reference): every element
// of C is  s = Σ_p a(i,p)·b(p,j)  summed from +0 in increasing p, then C = s or C = C + s. In the
// default module each multiply and each add is rounded (WebAssembly never fuses them), so these
// kernels are bit-identical to tsKernels for every shape; blocking only changes which elements
// are computed together, never that order. The FMA module fuses each multiply-add of a product
// (see `mac`) and is not bit-identical, only deterministic on one machine. Pointers are byte
// offsets into the imported memory; matrices are row-major and must not overlap C.

const MR = 4; // rows of C per register tile: 4 rows × 4 columns = 8 f64x2 accumulators

// c + x·y in the products. Built without relaxed SIMD (the default module): a multiply and an add,
// each rounded, as above. Built with it (the opt-in FMA module, see src/engine/wasm/index.ts):
// f64x2.relaxed_madd, which V8 compiles to a fused multiply-add (one rounding) on CPUs that have
// one, and to the two roundings elsewhere; the order of the sums is the same either way.
@inline function mac(c: v128, x: v128, y: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(x, y, c);
  return f64x2.add(c, f64x2.mul(x, y));
}

// ---- register tiles: C[rows × cols] at pc (row stride ldc bytes) from k products.
// A element (r, p) is at pa + r·sai + p·sap; B element (p, j) at pb + p·ldb + j·8.

@inline function store2(pc: usize, s: v128, acc: bool): void {
  v128.store(pc, acc ? f64x2.add(v128.load(pc), s) : s);
}

@inline function store1(pc: usize, s: f64, acc: bool): void {
  store<f64>(pc, acc ? load<f64>(pc) + s : s);
}

function tile4x4(k: i32, pa: usize, sai: usize, sap: usize, pb: usize, ldb: usize, pc: usize, ldc: usize, acc: bool): void {
  let c00 = f64x2.splat(0), c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0), c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0), c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0), c31 = f64x2.splat(0);
  let a0 = pa;
  const a1 = sai, a2 = sai * 2, a3 = sai * 3;
  let b = pb;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load64_splat(a0);
    c00 = mac(c00, x, b0);
    c01 = mac(c01, x, b1);
    x = v128.load64_splat(a0 + a1);
    c10 = mac(c10, x, b0);
    c11 = mac(c11, x, b1);
    x = v128.load64_splat(a0 + a2);
    c20 = mac(c20, x, b0);
    c21 = mac(c21, x, b1);
    x = v128.load64_splat(a0 + a3);
    c30 = mac(c30, x, b0);
    c31 = mac(c31, x, b1);
    a0 += sap;
    b += ldb;
  }
  store2(pc, c00, acc);
  store2(pc + 16, c01, acc);
  pc += ldc;
  store2(pc, c10, acc);
  store2(pc + 16, c11, acc);
  pc += ldc;
  store2(pc, c20, acc);
  store2(pc + 16, c21, acc);
  pc += ldc;
  store2(pc, c30, acc);
  store2(pc + 16, c31, acc);
}

function tile4x2(k: i32, pa: usize, sai: usize, sap: usize, pb: usize, ldb: usize, pc: usize, ldc: usize, acc: bool): void {
  let c0 = f64x2.splat(0), c1 = f64x2.splat(0), c2 = f64x2.splat(0), c3 = f64x2.splat(0);
  let a0 = pa;
  const a1 = sai, a2 = sai * 2, a3 = sai * 3;
  let b = pb;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(b);
    c0 = mac(c0, v128.load64_splat(a0), b0);
    c1 = mac(c1, v128.load64_splat(a0 + a1), b0);
    c2 = mac(c2, v128.load64_splat(a0 + a2), b0);
    c3 = mac(c3, v128.load64_splat(a0 + a3), b0);
    a0 += sap;
    b += ldb;
  }
  store2(pc, c0, acc);
  store2(pc + ldc, c1, acc);
  store2(pc + ldc * 2, c2, acc);
  store2(pc + ldc * 3, c3, acc);
}

function tile4x1(k: i32, pa: usize, sai: usize, sap: usize, pb: usize, ldb: usize, pc: usize, ldc: usize, acc: bool): void {
  // Rows 0,1 and 2,3 share a vector: lane r holds row r's sum, still summed in p order.
  let c01 = f64x2.splat(0), c23 = f64x2.splat(0);
  let a0 = pa;
  const a1 = sai, a2 = sai * 2, a3 = sai * 3;
  let b = pb;
  for (let p = 0; p < k; p++) {
    const y = v128.load64_splat(b);
    const x01 = f64x2.replace_lane(v128.load64_splat(a0), 1, load<f64>(a0 + a1));
    const x23 = f64x2.replace_lane(v128.load64_splat(a0 + a2), 1, load<f64>(a0 + a3));
    c01 = mac(c01, x01, y);
    c23 = mac(c23, x23, y);
    a0 += sap;
    b += ldb;
  }
  store1(pc, f64x2.extract_lane(c01, 0), acc);
  store1(pc + ldc, f64x2.extract_lane(c01, 1), acc);
  store1(pc + ldc * 2, f64x2.extract_lane(c23, 0), acc);
  store1(pc + ldc * 3, f64x2.extract_lane(c23, 1), acc);
}

function tile2x4(k: i32, pa: usize, sai: usize, sap: usize, pb: usize, ldb: usize, pc: usize, ldc: usize, acc: bool): void {
  let c00 = f64x2.splat(0), c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0), c11 = f64x2.splat(0);
  let a0 = pa;
  let b = pb;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load64_splat(a0);
    c00 = mac(c00, x, b0);
    c01 = mac(c01, x, b1);
    x = v128.load64_splat(a0 + sai);
    c10 = mac(c10, x, b0);
    c11 = mac(c11, x, b1);
    a0 += sap;
    b += ldb;
  }
  store2(pc, c00, acc);
  store2(pc + 16, c01, acc);
  store2(pc + ldc, c10, acc);
  store2(pc + ldc + 16, c11, acc);
}

function tile2x2(k: i32, pa: usize, sai: usize, sap: usize, pb: usize, ldb: usize, pc: usize, ldc: usize, acc: bool): void {
  let c0 = f64x2.splat(0), c1 = f64x2.splat(0);
  let a0 = pa;
  let b = pb;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(b);
    c0 = mac(c0, v128.load64_splat(a0), b0);
    c1 = mac(c1, v128.load64_splat(a0 + sai), b0);
    a0 += sap;
    b += ldb;
  }
  store2(pc, c0, acc);
  store2(pc + ldc, c1, acc);
}

function tile2x1(k: i32, pa: usize, sai: usize, sap: usize, pb: usize, ldb: usize, pc: usize, ldc: usize, acc: bool): void {
  let c01 = f64x2.splat(0);
  let a0 = pa;
  let b = pb;
  for (let p = 0; p < k; p++) {
    const x01 = f64x2.replace_lane(v128.load64_splat(a0), 1, load<f64>(a0 + sai));
    c01 = mac(c01, x01, v128.load64_splat(b));
    a0 += sap;
    b += ldb;
  }
  store1(pc, f64x2.extract_lane(c01, 0), acc);
  store1(pc + ldc, f64x2.extract_lane(c01, 1), acc);
}

function tile1x4(k: i32, pa: usize, sap: usize, pb: usize, ldb: usize, pc: usize, acc: bool): void {
  let c0 = f64x2.splat(0), c1 = f64x2.splat(0);
  let a0 = pa;
  let b = pb;
  for (let p = 0; p < k; p++) {
    const x = v128.load64_splat(a0);
    c0 = mac(c0, x, v128.load(b));
    c1 = mac(c1, x, v128.load(b, 16));
    a0 += sap;
    b += ldb;
  }
  store2(pc, c0, acc);
  store2(pc + 16, c1, acc);
}

function tile1x2(k: i32, pa: usize, sap: usize, pb: usize, ldb: usize, pc: usize, acc: bool): void {
  let c0 = f64x2.splat(0);
  let a0 = pa;
  let b = pb;
  for (let p = 0; p < k; p++) {
    c0 = mac(c0, v128.load64_splat(a0), v128.load(b));
    a0 += sap;
    b += ldb;
  }
  store2(pc, c0, acc);
}

function tile1x1(k: i32, pa: usize, sap: usize, pb: usize, ldb: usize, pc: usize, acc: bool): void {
  let s: f64 = 0;
  let a0 = pa;
  let b = pb;
  for (let p = 0; p < k; p++) {
    s += load<f64>(a0) * load<f64>(b);
    a0 += sap;
    b += ldb;
  }
  store1(pc, s, acc);
}

// C[m × n] (+)= A·B over columns [j0, j1) of C, where B's column j0 sits at pb (row stride ldb).
function block(
  m: i32, j0: i32, j1: i32, k: i32, pa: usize, sai: usize, sap: usize, pb: usize, ldb: usize, pc: usize, ldc: usize, acc: bool,
): void {
  const m4 = m & ~(MR - 1);
  let i = 0;
  for (; i < m4; i += MR) {
    const a = pa + <usize>i * sai;
    const c = pc + <usize>i * ldc + (<usize>j0 << 3);
    let j = j0;
    let b = pb;
    let cj = c;
    for (; j + 4 <= j1; j += 4, b += 32, cj += 32) tile4x4(k, a, sai, sap, b, ldb, cj, ldc, acc);
    if (j + 2 <= j1) {
      tile4x2(k, a, sai, sap, b, ldb, cj, ldc, acc);
      j += 2;
      b += 16;
      cj += 16;
    }
    if (j < j1) tile4x1(k, a, sai, sap, b, ldb, cj, ldc, acc);
  }
  if (i + 2 <= m) {
    const a = pa + <usize>i * sai;
    let j = j0;
    let b = pb;
    let cj = pc + <usize>i * ldc + (<usize>j0 << 3);
    for (; j + 4 <= j1; j += 4, b += 32, cj += 32) tile2x4(k, a, sai, sap, b, ldb, cj, ldc, acc);
    if (j + 2 <= j1) {
      tile2x2(k, a, sai, sap, b, ldb, cj, ldc, acc);
      j += 2;
      b += 16;
      cj += 16;
    }
    if (j < j1) tile2x1(k, a, sai, sap, b, ldb, cj, ldc, acc);
    i += 2;
  }
  for (; i < m; i++) {
    const a = pa + <usize>i * sai;
    let j = j0;
    let b = pb;
    let cj = pc + <usize>i * ldc + (<usize>j0 << 3);
    for (; j + 4 <= j1; j += 4, b += 32, cj += 32) tile1x4(k, a, sap, b, ldb, cj, acc);
    if (j + 2 <= j1) {
      tile1x2(k, a, sap, b, ldb, cj, acc);
      j += 2;
      b += 16;
      cj += 16;
    }
    if (j < j1) tile1x1(k, a, sap, b, ldb, cj, acc);
  }
}

/** C[m×n] (+)= A[m×k] · B[k×n] */
export function gemmNN(m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, acc: bool): void {
  block(m, 0, n, k, a, <usize>k << 3, 8, b, <usize>n << 3, c, <usize>n << 3, acc);
}

/** C[m×n] (+)= A[k×m]ᵀ · B[k×n] */
export function gemmTN(m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, acc: bool): void {
  block(m, 0, n, k, a, 8, <usize>m << 3, b, <usize>n << 3, c, <usize>n << 3, acc);
}

/**
 * C[m×n] (+)= A[m×k] · B[n×k]ᵀ. Bᵀ is copied, a panel of `nb` columns at a time, into the scratch
 * area (`scratchBytes` at `scratch`) so the tiles read it with unit stride; the caller guarantees
 * scratchBytes ≥ 32·k.
 */
export function gemmNT(m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, acc: bool, scratch: usize, scratchBytes: usize): void {
  let nb = 64;
  if (k > 0 && scratchBytes / (<usize>k << 3) < 64) nb = <i32>(scratchBytes / (<usize>k << 3)) & ~3;
  const ldc = <usize>n << 3;
  const rowB = <usize>k << 3;
  for (let j0 = 0; j0 < n; j0 += nb) {
    const j1 = min(j0 + nb, n);
    const w = j1 - j0;
    const ldp = <usize>w << 3;
    // Transpose B[j0..j1) (rows of B) into a k × w row-major panel, 2×2 blocks at a time (two
    // rows of B, two p), then a last odd row and a last odd p one element at a time.
    const k2 = k & ~1;
    let jj = 0;
    for (; jj + 2 <= w; jj += 2) {
      let src = b + <usize>(j0 + jj) * rowB;
      let dst = scratch + (<usize>jj << 3);
      for (let p = 0; p < k2; p += 2) {
        const r0 = v128.load(src);
        const r1 = v128.load(src + rowB);
        v128.store(dst, i64x2.shuffle(r0, r1, 0, 2));
        v128.store(dst + ldp, i64x2.shuffle(r0, r1, 1, 3));
        src += 16;
        dst += ldp << 1;
      }
      if (k2 < k) {
        store<f64>(dst, load<f64>(src));
        store<f64>(dst, load<f64>(src + rowB), 8);
      }
    }
    if (jj < w) {
      let src = b + <usize>(j0 + jj) * rowB;
      let dst = scratch + (<usize>jj << 3);
      for (let p = 0; p < k; p++) {
        store<f64>(dst, load<f64>(src));
        src += 8;
        dst += ldp;
      }
    }
    block(m, j0, j1, k, a, rowB, 8, scratch, ldp, c, ldc, acc);
  }
}

// ---- tanh over an array, lane for lane the same operations as src/engine/math.ts `tanh` (so the
// same bits): tanh(x) = −sign(x)·m/(m + 2), m = expm1(−2|x|) = 2^−k·expm1(r) + (2^−k − 1).

const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
const INV_LN2: f64 = 1.4426950408889634; // Math.LOG2E
const C2: f64 = 1.0 / 2;
const C3: f64 = 1.0 / 6;
const C4: f64 = 1.0 / 24;
const C5: f64 = 1.0 / 120;
const C6: f64 = 1.0 / 720;
const C7: f64 = 1.0 / 5040;
const C8: f64 = 1.0 / 40320;
const C9: f64 = 1.0 / 362880;
const C10: f64 = 1.0 / 3628800;
const C11: f64 = 1.0 / 39916800;
const C12: f64 = 1.0 / 479001600;
const C13: f64 = 1.0 / 6227020800;

@inline function sp(x: f64): v128 {
  return f64x2.splat(x);
}

@inline function madd(a: v128, b: v128, c: f64): v128 {
  // a + b·c: rounded twice as JavaScript does, or fused in the FMA module (see `mac`)
  return mac(a, b, sp(c));
}

@inline function tanh2(x: v128): v128 {
  const ax = f64x2.abs(x);
  const u = f64x2.mul(sp(-2), ax);
  // k = (0.5 − u/ln2) | 0 as JavaScript computes it: the operand is ≥ 0.5, so `| 0` is floor, and
  // exact as a double (lanes with |x| > 20 or NaN, where it could wrap, are replaced below).
  const k = f64x2.floor(f64x2.sub(sp(0.5), f64x2.mul(u, sp(INV_LN2))));
  const r = f64x2.add(f64x2.add(u, f64x2.mul(k, sp(LN2_HI))), f64x2.mul(k, sp(LN2_LO)));
  const r2 = f64x2.mul(r, r);
  const r4 = f64x2.mul(r2, r2);
  const hi = f64x2.add(f64x2.add(madd(sp(C9), r, C10), f64x2.mul(r2, madd(sp(C11), r, C12))), f64x2.mul(r4, sp(C13)));
  const mid = f64x2.add(f64x2.add(madd(sp(C5), r, C6), f64x2.mul(r2, madd(sp(C7), r, C8))), f64x2.mul(r4, hi));
  const poly = f64x2.add(f64x2.add(madd(sp(1), r, C2), f64x2.mul(r2, madd(sp(C3), r, C4))), f64x2.mul(r4, mid));
  const p = f64x2.mul(r, poly);
  // 2^−k from its bits, exact for the 0 ≤ k ≤ 58 that |x| ≤ 20 gives: 2^52 + (1023 − k) is exact,
  // and its bits shifted left by 52 leave (1023 − k) << 52.
  const s = i64x2.shl(f64x2.add(f64x2.sub(sp(1023), k), sp(4503599627370496)), 52);
  const m = f64x2.add(f64x2.mul(s, p), f64x2.sub(s, sp(1)));
  // q = m/(m + 2) = −t. Negating is flipping the sign bit, so the result −sign(x)·q (t for x ≥ 0
  // or NaN, −t for x < 0) is q with its sign bit flipped where x < 0 is false; beyond 20 the same
  // flip turns −1 into ±1.
  const q = v128.bitselect(sp(-1), f64x2.div(m, f64x2.add(m, sp(2))), f64x2.gt(ax, sp(20)));
  const y = v128.xor(q, v128.andnot(sp(-0.0), f64x2.lt(x, sp(0))));
  return v128.bitselect(x, y, f64x2.eq(ax, sp(0)));
}

/** dst[i] = tanh(src[i]) for i < n; dst may be src. */
export function tanhArray(n: i32, src: usize, dst: usize): void {
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 3;
    v128.store(dst + o, tanh2(v128.load(src + o)));
  }
  if (i < n) {
    const o = <usize>i << 3;
    store<f64>(dst + o, f64x2.extract_lane(tanh2(v128.load64_splat(src + o)), 0));
  }
}

// ---- element-wise passes of the training step, lane for lane the same operations as their
// TypeScript versions in src/engine/kernels.ts (so the same bits).

/**
 * z[r][j] += b[j] (when hasBias), then dst[r][j] = tanh(z[r][j]); dst may be z. Returns 0 when
 * every z is finite and NaN otherwise (Σ z − z, whose value does not depend on the order).
 */
export function biasTanh(rows: i32, cols: i32, z: usize, b: usize, hasBias: bool, dst: usize): f64 {
  let probe = f64x2.splat(0);
  if (!hasBias) {
    const n = rows * cols;
    let i = 0;
    for (; i + 2 <= n; i += 2) {
      const o = <usize>i << 3;
      const v = v128.load(z + o);
      probe = f64x2.add(probe, f64x2.sub(v, v));
      v128.store(dst + o, tanh2(v));
    }
    if (i < n) {
      const o = <usize>i << 3;
      const v = v128.load64_splat(z + o);
      probe = f64x2.add(probe, f64x2.sub(v, v));
      store<f64>(dst + o, f64x2.extract_lane(tanh2(v), 0));
    }
    return f64x2.extract_lane(probe, 0) + f64x2.extract_lane(probe, 1);
  }
  const row = <usize>cols << 3;
  let zr = z;
  let dr = dst;
  for (let r = 0; r < rows; r++, zr += row, dr += row) {
    let j = 0;
    for (; j + 2 <= cols; j += 2) {
      const o = <usize>j << 3;
      const v = f64x2.add(v128.load(zr + o), v128.load(b + o));
      v128.store(zr + o, v);
      probe = f64x2.add(probe, f64x2.sub(v, v));
      v128.store(dr + o, tanh2(v));
    }
    if (j < cols) {
      const o = <usize>j << 3;
      const s = load<f64>(zr + o) + load<f64>(b + o);
      store<f64>(zr + o, s);
      const v = f64x2.splat(s);
      probe = f64x2.add(probe, f64x2.sub(v, v));
      store<f64>(dr + o, f64x2.extract_lane(tanh2(v), 0));
    }
  }
  return f64x2.extract_lane(probe, 0) + f64x2.extract_lane(probe, 1);
}

/** dst[i] = src[i]·(1 − out[i]·out[i]) for i < n: the gradient through tanh from its output. dst may be src. */
export function tanhBackward(n: i32, src: usize, out: usize, dst: usize): void {
  const one = f64x2.splat(1);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 3;
    const y = v128.load(out + o);
    v128.store(dst + o, f64x2.mul(v128.load(src + o), f64x2.sub(one, f64x2.mul(y, y))));
  }
  if (i < n) {
    const o = <usize>i << 3;
    const y = load<f64>(out + o);
    store<f64>(dst + o, load<f64>(src + o) * (1 - y * y));
  }
}

/** dst[j] = Σ_r x[r][j] for j < cols, summed from +0 in increasing r (the bias gradient). */
export function columnSums(rows: i32, cols: i32, x: usize, dst: usize): void {
  const row = <usize>cols << 3;
  let j = 0;
  // Eight columns (four vectors) per sweep down the rows.
  for (; j + 8 <= cols; j += 8) {
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
    let p = x + (<usize>j << 3);
    for (let r = 0; r < rows; r++, p += row) {
      s0 = f64x2.add(s0, v128.load(p));
      s1 = f64x2.add(s1, v128.load(p, 16));
      s2 = f64x2.add(s2, v128.load(p, 32));
      s3 = f64x2.add(s3, v128.load(p, 48));
    }
    const d = dst + (<usize>j << 3);
    v128.store(d, s0);
    v128.store(d, s1, 16);
    v128.store(d, s2, 32);
    v128.store(d, s3, 48);
  }
  for (; j + 2 <= cols; j += 2) {
    let s = f64x2.splat(0);
    let p = x + (<usize>j << 3);
    for (let r = 0; r < rows; r++, p += row) s = f64x2.add(s, v128.load(p));
    v128.store(dst + (<usize>j << 3), s);
  }
  if (j < cols) {
    let s: f64 = 0;
    let p = x + (<usize>j << 3);
    for (let r = 0; r < rows; r++, p += row) s += load<f64>(p);
    store<f64>(dst + (<usize>j << 3), s);
  }
}

/**
 * One SGD pass over a parameter segment of n elements, p ← p + (−lr)·g, where g is first scaled
 * (mode 1: g·by) or clamped (mode 2: to [−by, by]) and stored back when mode ≠ 0. Writes at out
 * the segment's Σ(p_new − p_old)², Σp_new² and Σg² (of the clipped g; 0 when mode = 0), each summed
 * from +0 in increasing index: src/engine/kernels.ts `sgdUpdate` in the same order.
 */
export function sgdUpdate(n: i32, p: usize, g: usize, lr: f64, mode: i32, by: f64, out: usize): void {
  const neg = -lr;
  const lo = -by;
  let acc: f64 = 0;
  let accP: f64 = 0;
  let accC: f64 = 0;
  const end = p + (<usize>n << 3);
  if (mode == 0) {
    for (; p < end; p += 8, g += 8) {
      const old = load<f64>(p);
      const q = old + neg * load<f64>(g);
      store<f64>(p, q);
      accP += q * q;
      acc += (q - old) * (q - old);
    }
  } else if (mode == 1) {
    for (; p < end; p += 8, g += 8) {
      const x = load<f64>(g) * by;
      store<f64>(g, x);
      accC += x * x;
      const old = load<f64>(p);
      const q = old + neg * x;
      store<f64>(p, q);
      accP += q * q;
      acc += (q - old) * (q - old);
    }
  } else {
    for (; p < end; p += 8, g += 8) {
      const x = min(by, max(lo, load<f64>(g)));
      store<f64>(g, x);
      accC += x * x;
      const old = load<f64>(p);
      const q = old + neg * x;
      store<f64>(p, q);
      accP += q * q;
      acc += (q - old) * (q - old);
    }
  }
  store<f64>(out, acc);
  store<f64>(out, accP, 8);
  store<f64>(out, accC, 16);
}

/**
 * out[s] = Σ_i x_s[i]² for eight arrays x_0…x_7 of n elements each (pointers at list, eight u32),
 * each summed from +0 in increasing i: eight independent sums side by side, two per f64x2 lane pair,
 * instead of eight dependency chains one after another.
 */
export function sumSq8(n: i32, list: usize, out: usize): void {
  const p0 = <usize>load<u32>(list), p1 = <usize>load<u32>(list, 4);
  const p2 = <usize>load<u32>(list, 8), p3 = <usize>load<u32>(list, 12);
  const p4 = <usize>load<u32>(list, 16), p5 = <usize>load<u32>(list, 20);
  const p6 = <usize>load<u32>(list, 24), p7 = <usize>load<u32>(list, 28);
  let s01 = f64x2.splat(0), s23 = f64x2.splat(0), s45 = f64x2.splat(0), s67 = f64x2.splat(0);
  const end = <usize>n << 3;
  for (let o: usize = 0; o < end; o += 8) {
    const x01 = f64x2.replace_lane(v128.load64_splat(p0 + o), 1, load<f64>(p1 + o));
    const x23 = f64x2.replace_lane(v128.load64_splat(p2 + o), 1, load<f64>(p3 + o));
    const x45 = f64x2.replace_lane(v128.load64_splat(p4 + o), 1, load<f64>(p5 + o));
    const x67 = f64x2.replace_lane(v128.load64_splat(p6 + o), 1, load<f64>(p7 + o));
    s01 = f64x2.add(s01, f64x2.mul(x01, x01));
    s23 = f64x2.add(s23, f64x2.mul(x23, x23));
    s45 = f64x2.add(s45, f64x2.mul(x45, x45));
    s67 = f64x2.add(s67, f64x2.mul(x67, x67));
  }
  v128.store(out, s01);
  v128.store(out, s23, 16);
  v128.store(out, s45, 32);
  v128.store(out, s67, 48);
}
