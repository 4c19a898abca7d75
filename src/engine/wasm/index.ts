/**
 * The WebAssembly SIMD backend: tensors live in a WebAssembly.Memory and the matrix products run
 * in f64x2 kernels compiled from wasm/kernels.ts (see scripts/build-wasm.ts). Its results are
 * bit-identical to tsKernels: both sum every element of C from +0 in increasing p with separate
 * roundings, so the choice of backend (or of the path inside this one) never changes a number.
 *
 * Opt-in, `createWasmBackend({ fma: true })`: the same kernels with every multiply-add of the
 * products fused (relaxed SIMD's f64x2.relaxed_madd, one rounding instead of two). About 1.3×
 * faster products, but its results differ from tsKernels in the last bits, and between CPUs with
 * and without FMA; on one machine they are deterministic. It needs a host that enables relaxed
 * SIMD (Node 20: `--experimental-wasm-relaxed-simd`, or v8.setFlagsFromString before the first
 * FMA backend is made); `fmaAvailable()` says whether this one does.
 */
import { type Backend, type Kernels, tsKernels } from '../kernels.js';
import { tanh } from '../math.js';
import { KERNELS_FMA_WASM_BASE64, KERNELS_WASM_BASE64 } from './kernels.generated.js';

interface KernelExports {
  tanhArray(n: number, src: number, dst: number): void;
  biasTanh(rows: number, cols: number, z: number, b: number, hasBias: number, dst: number): number;
  tanhBackward(n: number, src: number, out: number, dst: number): void;
  columnSums(rows: number, cols: number, x: number, dst: number): void;
  sgdUpdate(n: number, p: number, g: number, lr: number, mode: number, by: number, out: number): void;
  sumSq8(n: number, list: number, out: number): void;
  gemmNN(m: number, n: number, k: number, a: number, b: number, c: number, acc: number): void;
  gemmTN(m: number, n: number, k: number, a: number, b: number, c: number, acc: number): void;
  gemmNT(
    m: number,
    n: number,
    k: number,
    a: number,
    b: number,
    c: number,
    acc: number,
    scratch: number,
    scratchBytes: number,
  ): void;
}

interface Instance extends KernelExports {
  buffer: ArrayBuffer;
  flavor: Flavor;
  scratch: number;
  /** The first eight doubles of the scratch area, where sgdUpdate and sumSq8 leave their sums. */
  sums: Float64Array;
  /** Eight u32 after them: sumSq8's pointers. */
  ptrs: Uint32Array;
}

const PAGE = 65536;
/** Bytes kept after the tensors for gemmNT's transposed panels of B (k × up to 64 columns). */
const SCRATCH_BYTES = 1 << 20;
/** gemmNT needs a panel of at least 4 columns: 32·k bytes. */
const MAX_NT_K = SCRATCH_BYTES / 32;
/** 4 GiB: the most a 32-bit WebAssembly memory can address. */
const MAX_PAGES = 65536;
/**
 * Products with fewer multiply-adds than this stay in TypeScript, where a call costs less than
 * the JS→WebAssembly transition. Chosen by shape alone, and both paths give the same bits.
 */
export const WASM_MIN_WORK = 256;

/** Which build of wasm/kernels.ts a memory's instance runs. */
type Flavor = 'exact' | 'fma';

const compiled: Partial<Record<Flavor, WebAssembly.Module>> = {};

function decode(base64: string): Uint8Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function wasmModule(flavor: Flavor): WebAssembly.Module {
  let module = compiled[flavor];
  if (!module) {
    module = new WebAssembly.Module(decode(flavor === 'fma' ? KERNELS_FMA_WASM_BASE64 : KERNELS_WASM_BASE64));
    compiled[flavor] = module;
  }
  return module;
}

let fmaValid = false;

/**
 * Whether this process can run the FMA kernels: its WebAssembly engine accepts relaxed SIMD
 * (Node 20 only with --experimental-wasm-relaxed-simd, set on the command line or through
 * v8.setFlagsFromString before this is first true).
 */
export function fmaAvailable(): boolean {
  if (!fmaValid) fmaValid = WebAssembly.validate(decode(KERNELS_FMA_WASM_BASE64) as Uint8Array<ArrayBuffer>);
  return fmaValid;
}

/** Every memory this module made, with its kernel instance; weak, so a finished run's memory is freed. */
const instances = new WeakMap<ArrayBuffer, Instance>();

function find(a: Float64Array, b: Float64Array, c: Float64Array): Instance | undefined {
  const buffer = c.buffer;
  if (a.buffer !== buffer || b.buffer !== buffer) return undefined;
  return instances.get(buffer as ArrayBuffer);
}

/**
 * The products, plus an element-wise tanh that gives exactly the bits of the engine's `tanh`
 * (src/engine/math.ts) — f64x2 lanes running the same operations in the same order.
 */
export interface WasmKernels extends Kernels {
  /** dst[i] = tanh(src[i]) for i < n (dst may be src). */
  tanh(n: number, src: Float64Array, dst: Float64Array): void;
}

function tsTanh(n: number, src: Float64Array, dst: Float64Array): void {
  for (let i = 0; i < n; i++) dst[i] = tanh(src[i]);
}

/** Element-wise passes shorter than this stay in TypeScript (the call would cost more). */
const WASM_MIN_ELEMENTS = 16;

function makeKernels(minWork: number): WasmKernels {
  return {
    biasTanh(rows, cols, z, b, dst) {
      const inst =
        rows * cols >= WASM_MIN_ELEMENTS && (b === null || b.buffer === z.buffer) ? find(z, z, dst) : undefined;
      if (inst === undefined) return tsKernels.biasTanh(rows, cols, z, b, dst);
      return inst.biasTanh(rows, cols, z.byteOffset, b === null ? 0 : b.byteOffset, b === null ? 0 : 1, dst.byteOffset);
    },
    tanhBackward(n, src, out, dst) {
      const inst = n >= WASM_MIN_ELEMENTS ? find(src, out, dst) : undefined;
      if (inst === undefined) return tsKernels.tanhBackward(n, src, out, dst);
      inst.tanhBackward(n, src.byteOffset, out.byteOffset, dst.byteOffset);
    },
    sgdUpdate(n, p, g, lr, mode, by, out) {
      const inst = n >= WASM_MIN_ELEMENTS ? find(p, g, p) : undefined;
      if (inst === undefined) return tsKernels.sgdUpdate(n, p, g, lr, mode, by, out);
      inst.sgdUpdate(n, p.byteOffset, g.byteOffset, lr, mode, by, inst.scratch);
      const sums = inst.sums;
      out[0] = sums[0];
      out[1] = sums[1];
      out[2] = sums[2];
    },
    sumSq8(n, x, out) {
      const buffer = x[0].buffer;
      let inst = n >= WASM_MIN_ELEMENTS ? instances.get(buffer as ArrayBuffer) : undefined;
      for (let s = 1; s < 8 && inst !== undefined; s++) if (x[s].buffer !== buffer) inst = undefined;
      if (inst === undefined) return tsKernels.sumSq8(n, x, out);
      const ptrs = inst.ptrs;
      for (let s = 0; s < 8; s++) ptrs[s] = x[s].byteOffset;
      inst.sumSq8(n, ptrs.byteOffset, inst.scratch);
      const sums = inst.sums;
      for (let s = 0; s < 8; s++) out[s] = sums[s];
    },
    columnSums(rows, cols, x, dst) {
      const inst = rows * cols >= WASM_MIN_ELEMENTS ? find(x, x, dst) : undefined;
      if (inst === undefined) return tsKernels.columnSums(rows, cols, x, dst);
      inst.columnSums(rows, cols, x.byteOffset, dst.byteOffset);
    },
    tanh(n, src, dst) {
      const inst =
        n >= WASM_MIN_ELEMENTS && src.buffer === dst.buffer ? instances.get(src.buffer as ArrayBuffer) : undefined;
      if (inst === undefined) return tsTanh(n, src, dst);
      inst.tanhArray(n, src.byteOffset, dst.byteOffset);
    },
    gemmNT(m, n, k, a, b, c, accumulate) {
      const inst = m * n * k >= minWork && k <= MAX_NT_K ? find(a, b, c) : undefined;
      if (inst === undefined) return tsKernels.gemmNT(m, n, k, a, b, c, accumulate);
      inst.gemmNT(m, n, k, a.byteOffset, b.byteOffset, c.byteOffset, accumulate ? 1 : 0, inst.scratch, SCRATCH_BYTES);
    },
    gemmNN(m, n, k, a, b, c, accumulate) {
      const inst = m * n * k >= minWork ? find(a, b, c) : undefined;
      if (inst === undefined) return tsKernels.gemmNN(m, n, k, a, b, c, accumulate);
      inst.gemmNN(m, n, k, a.byteOffset, b.byteOffset, c.byteOffset, accumulate ? 1 : 0);
    },
    gemmTN(m, n, k, a, b, c, accumulate) {
      const inst = m * n * k >= minWork ? find(a, b, c) : undefined;
      if (inst === undefined) return tsKernels.gemmTN(m, n, k, a, b, c, accumulate);
      inst.gemmTN(m, n, k, a.byteOffset, b.byteOffset, c.byteOffset, accumulate ? 1 : 0);
    },
  };
}

/**
 * Released memories kept for reuse: making a WebAssembly.Memory and instantiating the kernels
 * costs ~0.5 ms, more than a whole small job's training. Bounded in count and size, so a thread
 * that ran one large job does not keep its memory alive for ever.
 */
const pool: ArrayBuffer[] = [];
const POOL_MAX = 4;
const POOL_MAX_BYTES = 64 << 20;

/**
 * A WebAssembly.Memory (sized once, never grown, so views into it stay valid) with its own kernel
 * instance of the given build, reused from the pool when one of the same size and build was
 * released; the scratch area sits after the tensors, 64-byte aligned.
 */
function createBufferOf(flavor: Flavor, bytes: number): ArrayBuffer {
  const scratch = Math.ceil(bytes / 64) * 64;
  const pages = Math.ceil((scratch + SCRATCH_BYTES) / PAGE);
  for (let i = pool.length - 1; i >= 0; i--) {
    const buffer = pool[i];
    const inst = instances.get(buffer);
    if (buffer.byteLength !== pages * PAGE || inst === undefined || inst.flavor !== flavor) continue;
    pool.splice(i, 1);
    // Zeroed like a fresh memory; the scratch area needs no clearing (gemmNT writes before it reads).
    new Uint8Array(buffer, 0, scratch).fill(0);
    inst.scratch = scratch;
    inst.sums = new Float64Array(buffer, scratch, 8);
    inst.ptrs = new Uint32Array(buffer, scratch + 64, 8);
    return buffer;
  }
  let memory: WebAssembly.Memory;
  try {
    if (pages > MAX_PAGES) throw new RangeError('beyond 32-bit WebAssembly memory');
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  } catch {
    // Too large for WebAssembly (or refused): a plain buffer, served by tsKernels.
    return new ArrayBuffer(bytes);
  }
  const exports = new WebAssembly.Instance(wasmModule(flavor), { env: { memory } }).exports as unknown as KernelExports;
  instances.set(memory.buffer, {
    buffer: memory.buffer,
    flavor,
    scratch,
    gemmNT: exports.gemmNT,
    gemmNN: exports.gemmNN,
    gemmTN: exports.gemmTN,
    tanhArray: exports.tanhArray,
    biasTanh: exports.biasTanh,
    tanhBackward: exports.tanhBackward,
    columnSums: exports.columnSums,
    sgdUpdate: exports.sgdUpdate,
    sumSq8: exports.sumSq8,
    sums: new Float64Array(memory.buffer, scratch, 8),
    ptrs: new Uint32Array(memory.buffer, scratch + 64, 8),
  });
  return memory.buffer;
}

function releaseBuffer(buffer: ArrayBuffer): void {
  if (!instances.has(buffer) || buffer.byteLength > POOL_MAX_BYTES || pool.includes(buffer)) return;
  if (pool.length >= POOL_MAX) pool.shift();
  pool.push(buffer);
}

const createBuffer = (bytes: number) => createBufferOf('exact', bytes);
const createFmaBuffer = (bytes: number) => createBufferOf('fma', bytes);

// One kernels object for every default backend (and the FMA one: a view's memory says which build
// serves it): the engine's call sites then always see the same functions, which keeps V8's inline
// caches monomorphic from run to run.
const sharedKernels = makeKernels(WASM_MIN_WORK);
const sharedBackend: Backend & { kernels: WasmKernels } = { kernels: sharedKernels, createBuffer, releaseBuffer };
const fmaBackend: Backend & { kernels: WasmKernels } = {
  kernels: sharedKernels,
  createBuffer: createFmaBuffer,
  releaseBuffer,
};

/** Options for `createWasmBackend`; the defaults are what `simulate` should use. */
export interface WasmBackendOptions {
  /** Multiply-adds below which a product runs in TypeScript (default WASM_MIN_WORK; 0 = always WebAssembly). */
  minWork?: number;
  /**
   * Fused multiply-adds in the products (see the top of this file): faster, not bit-identical to
   * tsKernels. Throws when `fmaAvailable()` is false.
   */
  fma?: boolean;
}

/**
 * A backend whose `createBuffer` makes a fresh WebAssembly.Memory for each call, with its own
 * kernel instance. Views from any buffer it made run in WebAssembly; views over other buffers fall
 * back to tsKernels, with the same results (without `fma`). Without other options it is one
 * shared object per build.
 */
export function createWasmBackend(options: WasmBackendOptions = {}): Backend & { kernels: WasmKernels } {
  if (options.fma && !fmaAvailable())
    throw new Error(
      'FMA kernels need WebAssembly relaxed SIMD, which this runtime lacks (Node 24 has it; Node 20 needs --experimental-wasm-relaxed-simd)',
    );
  const shared = options.minWork === undefined || options.minWork === WASM_MIN_WORK;
  if (options.fma) {
    return shared
      ? fmaBackend
      : { kernels: makeKernels(options.minWork!), createBuffer: createFmaBuffer, releaseBuffer };
  }
  if (shared) return sharedBackend;
  return { kernels: makeKernels(options.minWork!), createBuffer, releaseBuffer };
}
