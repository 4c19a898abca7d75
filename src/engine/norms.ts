/**
 * Gradient and parameter norms. The trainer measures ‖·‖² per parameter segment (W1, b1, …) and
 * combines the segments into the global norm as torch.nn.utils.clip_grad_norm_ does.
 */
import type { Kernels } from './kernels.js';
import type { Segment } from './model.js';
import { sumSq } from './ops.js';

/** Where each parameter segment starts and ends in the flat parameter/gradient arrays. */
export interface SegmentTable {
  readonly count: number;
  readonly off: Int32Array;
  readonly end: Int32Array;
}

export function segmentTable(segments: readonly Segment[]): SegmentTable {
  return {
    count: segments.length,
    off: Int32Array.from(segments, (s) => s.offset),
    end: Int32Array.from(segments, (s) => s.offset + s.length),
  };
}

/**
 * The global norm from per-segment sums of squares `sq`. float32 follows clip_grad_norm_: the norm
 * of the per-tensor norms, rounded at every step; float64 sums the squares.
 */
export function globalNorm(sq: Float64Array, f32: boolean): number {
  const n = sq.length;
  let s = 0;
  if (f32) {
    for (let i = 0; i < n; i++) {
      const r = Math.fround(Math.sqrt(sq[i]));
      s = Math.fround(s + Math.fround(r * r));
    }
    return Math.fround(Math.sqrt(s));
  }
  for (let i = 0; i < n; i++) s += sq[i];
  return Math.sqrt(s);
}

/**
 * ‖∂L/∂p‖² of every segment of a gradient array. float64: segments of equal length eight at a time
 * through the sumSq8 kernel (eight dependency chains side by side), the others four at a time;
 * every sum still runs from +0 in increasing index, so the result is that of `sumSq` per segment.
 */
export class SegmentSquares {
  private readonly groups8: { n: number; segs: number[]; views: Float64Array[] }[] = [];
  private readonly rest: Int32Array;
  private readonly sq8 = new Float64Array(8);

  constructor(
    private readonly x: Float64Array,
    private readonly table: SegmentTable,
    private readonly kernels: Kernels,
    private readonly f32: boolean,
  ) {
    const { count, off, end } = table;
    // Segments longest first, for the groups of four.
    const bySize = Int32Array.from({ length: count }, (_, i) => i).sort((a, b) => end[b] - off[b] - (end[a] - off[a]));
    const len = (i: number) => end[i] - off[i];
    const restList: number[] = [];
    for (let g = 0; g < count; ) {
      const n = len(bySize[g]);
      // bySize is sorted by length, so eight in a row are equal when the first and the last are.
      if (g + 8 <= count && len(bySize[g + 7]) === n) {
        const segs = Array.from(bySize.subarray(g, g + 8));
        this.groups8.push({ n, segs, views: segs.map((i) => x.subarray(off[i], end[i])) });
        g += 8;
      } else restList.push(bySize[g++]);
    }
    this.rest = Int32Array.from(restList);
  }

  /** sq[s] = Σ x² over segment s. */
  fill(sq: Float64Array): void {
    const { x, f32 } = this;
    const { count, off: segOff, end: segEnd } = this.table;
    if (f32) {
      for (let i = 0; i < count; i++) sq[i] = sumSq(x, segOff[i], segEnd[i] - segOff[i], f32);
      return;
    }
    const sq8 = this.sq8;
    for (const group of this.groups8) {
      this.kernels.sumSq8(group.n, group.views, sq8);
      for (let k = 0; k < 8; k++) sq[group.segs[k]] = sq8[k];
    }
    const rest = this.rest;
    const nRest = rest.length;
    let g = 0;
    for (; g + 4 <= nRest; g += 4) {
      const s0 = rest[g];
      const s1 = rest[g + 1];
      const s2 = rest[g + 2];
      const s3 = rest[g + 3];
      const o0 = segOff[s0];
      const o1 = segOff[s1];
      const o2 = segOff[s2];
      const o3 = segOff[s3];
      const n = segEnd[s3] - o3;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let i = 0; i < n; i++) {
        const x0 = x[o0 + i];
        const x1 = x[o1 + i];
        const x2 = x[o2 + i];
        const x3 = x[o3 + i];
        a0 += x0 * x0;
        a1 += x1 * x1;
        a2 += x2 * x2;
        a3 += x3 * x3;
      }
      for (let i = o0 + n, e = segEnd[s0]; i < e; i++) a0 += x[i] * x[i];
      for (let i = o1 + n, e = segEnd[s1]; i < e; i++) a1 += x[i] * x[i];
      for (let i = o2 + n, e = segEnd[s2]; i < e; i++) a2 += x[i] * x[i];
      sq[s0] = a0;
      sq[s1] = a1;
      sq[s2] = a2;
      sq[s3] = a3;
    }
    for (; g < nRest; g++) {
      const i = rest[g];
      sq[i] = sumSq(x, segOff[i], segEnd[i] - segOff[i], f32);
    }
  }
}
