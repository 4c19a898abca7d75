/**
 * PyTorch's update rules (torch.optim.SGD, SGD with momentum 0.9, Adam), in PyTorch's order of
 * operations, float64 and float32. Each optimizer owns its state (momentum buffer, Adam's moments).
 * The update pass also collects, per parameter segment, ‖Δp‖² (`deltaSq`, for the update ratio)
 * and ‖p‖² (`paramSq`); in float64 it applies the last clip as it reads each gradient
 * (clip.ts) and measures the clipped ‖g‖² into `clipSq`.
 */
import type { JobSpec } from '../contract/spec.js';
import { CLIP_NONE, type ClipMode, clipEntry } from './clip.js';
import type { Kernels } from './kernels.js';
import type { SegmentTable } from './norms.js';

const MOMENTUM = 0.9;
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPS = 1e-8;

/** The arrays an update reads and writes; all sized by the parameter layout. */
export interface UpdateTarget {
  readonly params: Float64Array;
  readonly grads: Float64Array;
  readonly table: SegmentTable;
  readonly kernels: Kernels;
  /** Per segment, written by every update. */
  readonly deltaSq: Float64Array;
  readonly paramSq: Float64Array;
  /** Per segment, written when the update applies a clip. */
  readonly clipSq: Float64Array;
}

export interface Optimizer {
  /**
   * Step `step` (from 1) at learning rate `lr`. float64: each gradient is first clipped by
   * `clipMode`/`clipBy` (CLIP_NONE: as is), and stored back; float32 ignores them (never fused).
   */
  update(step: number, lr: number, clipMode: ClipMode, clipBy: number): void;
}

export function createOptimizer(kind: JobSpec['training']['optimizer'], f32: boolean, t: UpdateTarget): Optimizer {
  const n = t.params.length;
  switch (kind) {
    case 'sgd':
      return f32 ? new SgdF32(t) : new SgdF64(t);
    case 'momentum':
      return f32 ? new MomentumF32(t, n) : new MomentumF64(t, n);
    case 'adam':
      return f32 ? new AdamF32(t, n) : new AdamF64(t, n);
  }
}

class SgdF64 implements Optimizer {
  private readonly paramSeg: Float64Array[];
  private readonly gradSeg: Float64Array[];
  private readonly sums = new Float64Array(3);

  constructor(private readonly t: UpdateTarget) {
    const { off, end } = t.table;
    this.paramSeg = Array.from(off, (o, s) => t.params.subarray(o, end[s]));
    this.gradSeg = Array.from(off, (o, s) => t.grads.subarray(o, end[s]));
  }

  update(_step: number, lr: number, clipMode: ClipMode, clipBy: number): void {
    const { kernels, deltaSq, paramSq, clipSq } = this.t;
    const { count, off, end } = this.t.table;
    const { paramSeg, gradSeg, sums } = this;
    const clip = clipMode !== CLIP_NONE;
    for (let s = 0; s < count; s++) {
      // The kernel applies the clip exactly as clipEntry does.
      kernels.sgdUpdate(end[s] - off[s], paramSeg[s], gradSeg[s], lr, clipMode, clipBy, sums);
      deltaSq[s] = sums[0];
      paramSq[s] = sums[1];
      if (clip) clipSq[s] = sums[2];
    }
  }
}

class MomentumF64 implements Optimizer {
  private readonly buf: Float64Array;

  constructor(
    private readonly t: UpdateTarget,
    n: number,
  ) {
    this.buf = new Float64Array(n);
  }

  update(step: number, lr: number, clipMode: ClipMode, clipBy: number): void {
    const { params, grads, deltaSq, paramSq, clipSq } = this.t;
    const { count, off, end } = this.t.table;
    const buf = this.buf;
    const clip = clipMode !== CLIP_NONE;
    for (let s = 0; s < count; s++) {
      let acc = 0;
      let accP = 0;
      let accC = 0;
      const e = end[s];
      for (let i = off[s]; i < e; i++) {
        let g = grads[i];
        if (clip) {
          g = clipEntry(g, clipMode, clipBy);
          grads[i] = g;
          accC += g * g;
        }
        const b = step === 1 ? g : buf[i] * MOMENTUM + g;
        buf[i] = b;
        const old = params[i];
        const p = old + -lr * b;
        params[i] = p;
        accP += p * p;
        acc += (p - old) * (p - old);
      }
      deltaSq[s] = acc;
      paramSq[s] = accP;
      if (clip) clipSq[s] = accC;
    }
  }
}

class AdamF64 implements Optimizer {
  private readonly m: Float64Array;
  private readonly v: Float64Array;

  constructor(
    private readonly t: UpdateTarget,
    n: number,
  ) {
    this.m = new Float64Array(n);
    this.v = new Float64Array(n);
  }

  update(step: number, lr: number, clipMode: ClipMode, clipBy: number): void {
    const { params, grads, deltaSq, paramSq, clipSq } = this.t;
    const { count, off, end } = this.t.table;
    const { m: m1, v } = this;
    const clip = clipMode !== CLIP_NONE;
    const bc1 = 1 - ADAM_BETA1 ** step;
    const bc2 = 1 - ADAM_BETA2 ** step;
    const stepSize = lr / bc1;
    const bc2Sqrt = Math.sqrt(bc2);
    const w1 = 1 - ADAM_BETA1;
    const w2 = 1 - ADAM_BETA2;
    for (let s = 0; s < count; s++) {
      let acc = 0;
      let accP = 0;
      let accC = 0;
      const e = end[s];
      for (let i = off[s]; i < e; i++) {
        let g = grads[i];
        if (clip) {
          g = clipEntry(g, clipMode, clipBy);
          grads[i] = g;
          accC += g * g;
        }
        const m = m1[i] + w1 * (g - m1[i]);
        m1[i] = m;
        const vv = v[i] * ADAM_BETA2 + w2 * g * g;
        v[i] = vv;
        const denom = Math.sqrt(vv) / bc2Sqrt + ADAM_EPS;
        const old = params[i];
        const p = old + (-stepSize * m) / denom;
        params[i] = p;
        accP += p * p;
        acc += (p - old) * (p - old);
      }
      deltaSq[s] = acc;
      paramSq[s] = accP;
      if (clip) clipSq[s] = accC;
    }
  }
}

const f = Math.fround;

class SgdF32 implements Optimizer {
  constructor(private readonly t: UpdateTarget) {}

  update(_step: number, lr: number): void {
    const { params, grads, deltaSq, paramSq } = this.t;
    const { count, off, end } = this.t.table;
    const negLr = f(-f(lr));
    for (let s = 0; s < count; s++) {
      let acc = 0;
      let accP = 0;
      for (let i = off[s]; i < end[s]; i++) {
        const old = params[i];
        const p = f(old + f(negLr * grads[i]));
        params[i] = p;
        accP = f(accP + f(p * p));
        const d = f(p - old);
        acc = f(acc + f(d * d));
      }
      deltaSq[s] = acc;
      paramSq[s] = accP;
    }
  }
}

class MomentumF32 implements Optimizer {
  private readonly buf: Float64Array;

  constructor(
    private readonly t: UpdateTarget,
    n: number,
  ) {
    this.buf = new Float64Array(n);
  }

  update(step: number, lr: number): void {
    const { params, grads, deltaSq, paramSq } = this.t;
    const { count, off, end } = this.t.table;
    const buf = this.buf;
    const negLr = f(-f(lr));
    for (let s = 0; s < count; s++) {
      let acc = 0;
      let accP = 0;
      for (let i = off[s]; i < end[s]; i++) {
        const b = step === 1 ? grads[i] : f(f(buf[i] * f(MOMENTUM)) + grads[i]);
        buf[i] = b;
        const old = params[i];
        const p = f(old + f(negLr * b));
        params[i] = p;
        accP = f(accP + f(p * p));
        const d = f(p - old);
        acc = f(acc + f(d * d));
      }
      deltaSq[s] = acc;
      paramSq[s] = accP;
    }
  }
}

class AdamF32 implements Optimizer {
  private readonly m: Float64Array;
  private readonly v: Float64Array;

  constructor(
    private readonly t: UpdateTarget,
    n: number,
  ) {
    this.m = new Float64Array(n);
    this.v = new Float64Array(n);
  }

  update(step: number, lr32: number): void {
    const { params, grads, deltaSq, paramSq } = this.t;
    const { count, off, end } = this.t.table;
    const { m: m1, v } = this;
    const lr = f(lr32);
    const bc1 = 1 - ADAM_BETA1 ** step;
    const bc2 = 1 - ADAM_BETA2 ** step;
    const negStep = f(-(lr / bc1));
    const bc2Sqrt = f(Math.sqrt(bc2));
    const w1 = f(1 - ADAM_BETA1);
    const w2 = f(1 - ADAM_BETA2);
    const beta2 = f(ADAM_BETA2);
    const eps = f(ADAM_EPS);
    for (let s = 0; s < count; s++) {
      let acc = 0;
      let accP = 0;
      for (let i = off[s]; i < end[s]; i++) {
        const g = grads[i];
        const m = f(m1[i] + f(w1 * f(g - m1[i])));
        m1[i] = m;
        const vv = f(f(v[i] * beta2) + f(f(w2 * g) * g));
        v[i] = vv;
        const denom = f(f(f(Math.sqrt(vv)) / bc2Sqrt) + eps);
        const old = params[i];
        const p = f(old + f(f(negStep * m) / denom));
        params[i] = p;
        accP = f(accP + f(p * p));
        const d = f(p - old);
        acc = f(acc + f(d * d));
      }
      deltaSq[s] = acc;
      paramSq[s] = accP;
    }
  }
}
