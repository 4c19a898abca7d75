/**
 * Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_ do it, in the order the
 * spec lists the clips. In float64 the last clip is not applied here: the optimizer's update pass
 * applies it to each gradient as it reads it (one pass over the gradients fewer), through
 * `clipEntry`, the one place where a gradient entry is clipped.
 */
import type { MitigationSpec } from '../contract/spec.js';
import { SGD_CLAMP, SGD_PLAIN, SGD_SCALE, type SgdMode } from './kernels.js';
import { globalNorm, type SegmentTable } from './norms.js';

/** torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing. */
export const CLIP_NORM_EPS = 1e-6;

/** How a gradient entry is clipped: not at all, g·by, or clamped to [−by, by] (the sgdUpdate kernel's modes). */
export type ClipMode = SgdMode;
export const CLIP_NONE: ClipMode = SGD_PLAIN;
export const CLIP_SCALE: ClipMode = SGD_SCALE;
export const CLIP_CLAMP: ClipMode = SGD_CLAMP;

export type Clip = { kind: 'clip-norm'; value: number } | { kind: 'clip-value'; value: number };

/** One gradient entry, scaled (CLIP_SCALE) or clamped (CLIP_CLAMP; `clamp_`: NaN stays NaN), in float64. */
export function clipEntry(g: number, mode: ClipMode, by: number): number {
  return mode === CLIP_SCALE ? g * by : Math.min(by, Math.max(-by, g));
}

/** The clip mitigations of a spec, in order. */
export function clipsOf(mitigations: readonly MitigationSpec[]): Clip[] {
  const clips: Clip[] = [];
  for (const m of mitigations) {
    if (m.kind === 'clip-norm') clips.push({ kind: 'clip-norm', value: m.maxNorm });
    else if (m.kind === 'clip-value') clips.push({ kind: 'clip-value', value: m.maxValue });
  }
  return clips;
}

export class GradientClipper {
  /** After `apply`: the clip left for the update pass to apply (float64 only), and its factor or bound. */
  fuseMode: ClipMode = CLIP_NONE;
  fuseBy = 0;
  /** Per-segment ‖g‖² after a clip applied here. */
  private readonly sq: Float64Array;

  constructor(
    private readonly clips: readonly Clip[],
    private readonly grads: Float64Array,
    private readonly table: SegmentTable,
    private readonly f32: boolean,
  ) {
    this.sq = new Float64Array(table.count);
  }

  get active(): boolean {
    return this.clips.length > 0;
  }

  /**
   * Applies the clips to the gradients whose global norm is `gradNorm`, except a last one that the
   * update pass applies (`fuseMode`, `fuseBy`). Returns the global norm after the clips applied here.
   */
  apply(gradNorm: number): number {
    const { clips, f32 } = this;
    let norm = gradNorm;
    this.fuseMode = CLIP_NONE;
    this.fuseBy = 0;
    for (let c = 0; c < clips.length; c++) {
      const clip = clips[c];
      const fuse = !f32 && c === clips.length - 1;
      if (clip.kind === 'clip-norm') {
        const coef = clip.value / (norm + CLIP_NORM_EPS);
        if (!(coef < 1)) continue;
        if (fuse && coef > 0) {
          this.fuseMode = CLIP_SCALE;
          this.fuseBy = coef;
        } else {
          // coef = 0 (an infinite norm) clamps every entry to ±0.
          const by = f32 ? Math.fround(coef) : coef;
          norm = by > 0 ? this.clipAll(CLIP_SCALE, by) : this.clipAll(CLIP_CLAMP, 0);
        }
      } else if (fuse) {
        this.fuseMode = CLIP_CLAMP;
        this.fuseBy = clip.value;
      } else {
        norm = this.clipAll(CLIP_CLAMP, clip.value);
      }
    }
    return norm;
  }

  /** Clips every gradient entry in one pass that also re-measures the global norm. */
  private clipAll(mode: ClipMode, by: number): number {
    const { grads, f32, sq } = this;
    const { count, off, end } = this.table;
    const scale = f32 && mode === CLIP_SCALE;
    for (let s = 0; s < count; s++) {
      let acc = 0;
      const e = end[s];
      for (let i = off[s]; i < e; i++) {
        const g = scale ? Math.fround(grads[i] * by) : clipEntry(grads[i], mode, by);
        grads[i] = g;
        acc = f32 ? Math.fround(acc + Math.fround(g * g)) : acc + g * g;
      }
      sq[s] = acc;
    }
    return globalNorm(sq, f32);
  }
}
