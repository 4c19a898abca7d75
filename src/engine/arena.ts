/**
 * One ArrayBuffer sized up front, carved into Float64Array views. Every tensor a kernel touches
 * lives here, so a backend whose kernels read a WebAssembly.Memory can hand out that memory's
 * buffer and see the same bytes. Views start on 16-byte boundaries (SIMD loads of f64x2 like it).
 */

/** Doubles per view are rounded up to this, keeping every view 16-byte aligned. */
const ALIGN_DOUBLES = 2;

function padded(n: number): number {
  return Math.ceil(n / ALIGN_DOUBLES) * ALIGN_DOUBLES;
}

/** Bytes an arena needs for views of these lengths (in doubles), in this order. */
export function arenaBytes(lengths: readonly number[]): number {
  let total = 0;
  for (const n of lengths) total += padded(n);
  return Math.max(total * 8, 16);
}

export class Arena {
  private offset: number;
  readonly buffer: ArrayBuffer;
  private readonly end: number;

  /** Carves views from `buffer` starting at `byteOffset` (a multiple of 16). */
  constructor(buffer: ArrayBuffer, byteOffset = 0, byteLength = buffer.byteLength - byteOffset) {
    if (byteOffset % 16 !== 0) throw new RangeError('Arena offset must be a multiple of 16 bytes');
    this.buffer = buffer;
    this.offset = byteOffset;
    this.end = byteOffset + byteLength;
  }

  /** A view of `n` doubles; zero, as `Backend.createBuffer` hands out zeroed buffers. */
  f64(n: number): Float64Array {
    const bytes = padded(n) * 8;
    if (this.offset + bytes > this.end) throw new RangeError('Arena exhausted: size it with arenaBytes first');
    const view = new Float64Array(this.buffer, this.offset, n);
    this.offset += bytes;
    return view;
  }

  /** Bytes still free. */
  get free(): number {
    return this.end - this.offset;
  }
}
