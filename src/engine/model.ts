/**
 * Forward and backward passes of the three network kinds over one fixed-size batch, in the
 * numerical contract of docs/design.md. All tensors are carved from one arena at construction; a step
 * allocates nothing. Parameters and their gradients are each one flat array, split into
 * segments (W1, b1, gamma1, beta1, W2, …), so norms, clipping and optimizers are flat loops.
 */
import { Arena, arenaBytes } from './arena.js';
import type { Backend } from './backend.js';
import type { Kernels } from './kernels.js';
import { firstNonFinite, nonFiniteProbe, rootOf, roundF32, sumSq } from './ops.js';
import type { LayeredShape, RnnShape, Shape } from './shape.js';
import type { DenseParams, InitialParams } from './types.js';

export type SegmentKind = 'weight' | 'bias' | 'gamma' | 'beta';

export interface Segment {
  name: string;
  kind: SegmentKind;
  /** Index of the telemetry layer (W1…WL or W_xh, W_hh, W_hy) the segment belongs to. */
  layer: number;
  offset: number;
  length: number;
}

export interface ActivationFault {
  layer: string;
  where: string;
  value: number;
}

export interface Model {
  readonly batch: number;
  readonly params: Float64Array;
  readonly grads: Float64Array;
  readonly segments: readonly Segment[];
  /** Segment index of each telemetry layer's weight matrix. */
  readonly weightSegments: readonly number[];
  /** Batch inputs: [B][inputDim] (layered) or [T][B][inputDim] (rnn). Filled by `loadBatch`. */
  readonly xb: Float64Array;
  /** Batch targets, [B][outputDim]. */
  readonly yb: Float64Array;
  /** rnn: ‖∂L/∂h_t‖ for t = 1..T after a `backward` with `measureHidden` set; null otherwise. */
  readonly hiddenGradNorms: Float64Array | null;
  /**
   * rnn: whether `backward` measures hiddenGradNorms (and so backwardGain); true by default. The
   * trainer clears it on steps that read neither, sparing T sums of squares per step.
   */
  measureHidden: boolean;
  /** NaN after a forward pass in which some activation was non-finite, else 0. */
  activationProbe: number;
  /** ‖∂L/∂z_1‖/‖∂L/∂z_L‖ (layered) or ‖∂L/∂h_1‖/‖∂L/∂h_T‖ (rnn) of the last backward pass. */
  readonly backwardGain: number;
  /** Whether `backwardNorms` is defined: linear and mlp nets (an rnn has hiddenGradNorms instead). */
  readonly hasBackwardNorms: boolean;
  /**
   * The backward signal per layer after `backward`: out[l − 1] = ‖∂L/∂z_l‖, l = 1..L, z_l the layer's
   * pre-activation (before batch-norm, when there is one). Measured on demand from the buffers the
   * backward pass left, so only records pay for it.
   */
  backwardNorms(out: Float64Array): void;
  /** Copies samples `idx[0..B)` of a data set (sample-major [n][T][d] and [n][o]) into xb, yb. */
  loadBatch(x: Float64Array, y: Float64Array, idx: Int32Array): void;
  /** Forward pass on the loaded batch; returns the MSE loss. */
  forward(): number;
  /** Backward pass after `forward`: fills `grads`. */
  backward(): void;
  /** The first non-finite activation of the last forward pass, in forward order. */
  locateActivation(): ActivationFault | null;
  /** Views of the last forward pass's dense outputs: z_1…z_L ([B][d_l]), or u_1…u_T then ŷ. */
  preActivations(): Float64Array[];
}

type Take = (n: number) => Float64Array;

/** Lays out buffers twice: once to count doubles, once to carve them from the sized arena. */
function carve<T>(backend: Backend, layout: (take: Take) => T): T {
  const lengths: number[] = [];
  const empty = new Float64Array(0);
  layout((n) => {
    lengths.push(n);
    return empty;
  });
  const arena = new Arena(backend.createBuffer(arenaBytes(lengths)));
  return layout((n) => arena.f64(n));
}

export function createModel(shape: Shape, batch: number, init: InitialParams, backend: Backend, f32: boolean): Model {
  if (shape.kind === 'rnn') {
    if (init.kind !== 'rnn') throw new TypeError('rnn shape needs rnn parameters');
    return new RnnModel(shape, batch, init, backend, f32);
  }
  if (init.kind !== 'layered') throw new TypeError('layered shape needs layered parameters');
  return new LayeredModel(shape, batch, init.layers, backend, f32);
}

function copyDense(params: Float64Array, seg: Segment, src: Float64Array | null): void {
  if (src) params.set(src.subarray(0, seg.length), seg.offset);
}

function addBias(z: Float64Array, rows: number, cols: number, b: Float64Array, bOff: number): void {
  for (let r = 0, o = 0; r < rows; r++, o += cols) for (let j = 0; j < cols; j++) z[o + j] += b[bOff + j];
}

function columnSums(dz: Float64Array, rows: number, cols: number, g: Float64Array, gOff: number, f32: boolean) {
  for (let j = 0; j < cols; j++) g[gOff + j] = 0;
  if (f32) {
    for (let r = 0, o = 0; r < rows; r++, o += cols)
      for (let j = 0; j < cols; j++) g[gOff + j] = Math.fround(g[gOff + j] + dz[o + j]);
  } else {
    for (let r = 0, o = 0; r < rows; r++, o += cols) for (let j = 0; j < cols; j++) g[gOff + j] += dz[o + j];
  }
}

/** MSE and its gradient 2(ŷ − y)/(B·O) written to `dy`. */
function mse(yhat: Float64Array, y: Float64Array, n: number, f32: boolean): number {
  let s = 0;
  if (f32) {
    for (let i = 0; i < n; i++) {
      const d = Math.fround(yhat[i] - y[i]);
      s = Math.fround(s + Math.fround(d * d));
    }
    return Math.fround(s / n);
  }
  for (let i = 0; i < n; i++) {
    const d = yhat[i] - y[i];
    s += d * d;
  }
  return s / n;
}

function mseGrad(yhat: Float64Array, y: Float64Array, dy: Float64Array, n: number, f32: boolean): void {
  const c = 2 / n;
  if (f32) for (let i = 0; i < n; i++) dy[i] = Math.fround(Math.fround(c) * Math.fround(yhat[i] - y[i]));
  else for (let i = 0; i < n; i++) dy[i] = c * (yhat[i] - y[i]);
}

type Act = 'identity' | 'tanh' | 'relu' | 'sigmoid';

function activate(act: Act, src: Float64Array, dst: Float64Array, n: number, k: Kernels): void {
  switch (act) {
    case 'identity':
      if (dst !== src) dst.set(src.subarray(0, n));
      return;
    case 'tanh':
      // A kernel: the WebAssembly backend runs it two lanes at a time, with the same bits.
      k.tanh(n, src, dst);
      return;
    case 'relu':
      for (let i = 0; i < n; i++) dst[i] = Math.max(src[i], 0);
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) dst[i] = 1 / (1 + Math.exp(-src[i]));
      return;
  }
}

/** g ← g ⊙ φ′, with φ′ from the pre-activation `pre` or the output `out`; relu′(0) = 0. */
function activateBackward(act: Act, pre: Float64Array, out: Float64Array, g: Float64Array, n: number): void {
  switch (act) {
    case 'identity':
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) g[i] *= 1 - out[i] * out[i];
      return;
    case 'relu':
      for (let i = 0; i < n; i++) if (!(pre[i] > 0)) g[i] = 0;
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) g[i] *= out[i] * (1 - out[i]);
      return;
  }
}

/** PyTorch BatchNorm1d (training mode): biased batch variance, this ε. */
export const BATCH_NORM_EPS = 1e-5;

class LayeredModel implements Model {
  readonly batch: number;
  readonly params: Float64Array;
  readonly grads: Float64Array;
  readonly segments: Segment[] = [];
  readonly weightSegments: number[] = [];
  readonly xb: Float64Array;
  readonly yb: Float64Array;
  readonly hiddenGradNorms = null;
  measureHidden = true;
  activationProbe = 0;

  private readonly k: Kernels;
  private readonly dims: number[];
  private readonly depth: number;
  private readonly act: Act;
  private readonly f32: boolean;
  private readonly bn: boolean;
  private readonly bias: boolean;
  /**
   * Whether each layer's pre-activations need their own probe. Without an activation or
   * batch-norm, a non-finite z_l makes its whole row of z_(l+1) = W·z_l (+ b) non-finite
   * (∞·w is ±∞ or NaN, and a sum with a non-finite term stays non-finite), so it always reaches
   * the output: probing z_L alone detects it, and `locateActivation` still finds the first layer.
   * tanh, sigmoid and relu can map ±∞ to a finite value, and batch-norm mixes rows.
   */
  private readonly probeEvery: boolean;
  // Per layer l = 1..L (index 0 unused except act[0] = xb).
  private readonly w: Float64Array[] = [];
  private readonly gw: Float64Array[] = [];
  private readonly bOff: number[] = [];
  /** Views of b_l and ∂L/∂b_l (layers with a bias). */
  private readonly b: Float64Array[] = [];
  private readonly gb: Float64Array[] = [];
  private readonly gammaOff: number[] = [];
  private readonly betaOff: number[] = [];
  private readonly z: Float64Array[] = [];
  private readonly xhat: Float64Array[] = [];
  private readonly u: Float64Array[] = [];
  private readonly mean: Float64Array[] = [];
  private readonly invStd: Float64Array[] = [];
  private readonly a: Float64Array[] = [];
  private readonly dz: Float64Array[] = [];

  constructor(shape: LayeredShape, batch: number, layers: DenseParams[], backend: Backend, f32: boolean) {
    this.batch = batch;
    this.k = backend.kernels;
    this.dims = shape.dims;
    this.depth = shape.depth;
    this.act = shape.activation;
    this.f32 = f32;
    this.bn = shape.batchNorm;
    this.bias = shape.bias;
    this.probeEvery = this.act !== 'identity' || this.bn;
    const { dims, depth } = this;
    const B = batch;

    let total = 0;
    const push = (name: string, kind: SegmentKind, layer: number, length: number) => {
      this.segments.push({ name, kind, layer, offset: total, length });
      total += length;
      return this.segments.length - 1;
    };
    for (let l = 1; l <= depth; l++) {
      this.weightSegments.push(push(`W${l}`, 'weight', l - 1, dims[l] * dims[l - 1]));
      this.bOff[l] = this.bias ? this.segments[push(`b${l}`, 'bias', l - 1, dims[l])].offset : -1;
      if (this.bn && l < depth) {
        this.gammaOff[l] = this.segments[push(`gamma${l}`, 'gamma', l - 1, dims[l])].offset;
        this.betaOff[l] = this.segments[push(`beta${l}`, 'beta', l - 1, dims[l])].offset;
      }
    }

    const identityPlain = this.act === 'identity' && !this.bn;
    const bufs = carve(backend, (take) => {
      const params = take(total);
      const grads = take(total);
      const xb = take(B * dims[0]);
      const yb = take(B * dims[depth]);
      const z: Float64Array[] = [];
      const xhat: Float64Array[] = [];
      const u: Float64Array[] = [];
      const mean: Float64Array[] = [];
      const invStd: Float64Array[] = [];
      const a: Float64Array[] = [xb];
      const dz: Float64Array[] = [];
      for (let l = 1; l <= depth; l++) {
        const n = B * dims[l];
        z[l] = take(n);
        dz[l] = take(n);
        if (l < depth) {
          if (this.bn) {
            xhat[l] = take(n);
            u[l] = take(n);
            mean[l] = take(dims[l]);
            invStd[l] = take(dims[l]);
          }
          a[l] = identityPlain ? z[l] : take(n);
        }
      }
      return { params, grads, xb, yb, z, xhat, u, mean, invStd, a, dz };
    });
    this.params = bufs.params;
    this.grads = bufs.grads;
    this.xb = bufs.xb;
    this.yb = bufs.yb;
    this.z = bufs.z;
    this.xhat = bufs.xhat;
    this.u = bufs.u;
    this.mean = bufs.mean;
    this.invStd = bufs.invStd;
    this.a = bufs.a;
    this.dz = bufs.dz;
    for (let l = 1; l <= depth; l++) {
      const seg = this.segments[this.weightSegments[l - 1]];
      this.w[l] = this.params.subarray(seg.offset, seg.offset + seg.length);
      this.gw[l] = this.grads.subarray(seg.offset, seg.offset + seg.length);
      if (this.bias) {
        this.b[l] = this.params.subarray(this.bOff[l], this.bOff[l] + dims[l]);
        this.gb[l] = this.grads.subarray(this.bOff[l], this.bOff[l] + dims[l]);
      }
    }

    for (const seg of this.segments) {
      const p = layers[seg.layer];
      if (seg.kind === 'weight') copyDense(this.params, seg, p.w);
      else if (seg.kind === 'bias') copyDense(this.params, seg, p.b);
      else if (seg.kind === 'gamma') this.params.fill(1, seg.offset, seg.offset + seg.length);
    }
    if (f32) roundF32(this.params, 0, total);
  }

  loadBatch(x: Float64Array, y: Float64Array, idx: Int32Array): void {
    const d = this.dims[0];
    const o = this.dims[this.depth];
    for (let b = 0; b < this.batch; b++) {
      const s = idx[b];
      for (let j = 0; j < d; j++) this.xb[b * d + j] = x[s * d + j];
      for (let j = 0; j < o; j++) this.yb[b * o + j] = y[s * o + j];
    }
  }

  forward(): number {
    const { k, dims, depth, batch: B, params, f32 } = this;
    let probe = 0;
    for (let l = 1; l <= depth; l++) {
      const n = B * dims[l];
      const z = this.z[l];
      k.gemmNT(B, dims[l], dims[l - 1], this.a[l - 1], this.w[l], z, false);
      if (!f32 && !this.bn && this.act === 'tanh' && l < depth) {
        // Bias, probe and tanh in one pass (the same operations as the general path below).
        probe += k.biasTanh(B, dims[l], z, this.bias ? this.b[l] : null, this.a[l]);
        continue;
      }
      if (f32) roundF32(z, 0, n);
      if (this.bias) {
        addBias(z, B, dims[l], params, this.bOff[l]);
        if (f32) roundF32(z, 0, n);
      }
      if (this.probeEvery || l === depth) probe += nonFiniteProbe(z, 0, n);
      if (l === depth) break;
      let src = z;
      if (this.bn) {
        this.batchNormForward(l);
        src = this.u[l];
        probe += nonFiniteProbe(src, 0, n);
      }
      activate(this.act, src, this.a[l], n, this.k);
      if (f32 && this.a[l] !== src) roundF32(this.a[l], 0, n);
    }
    this.activationProbe = probe;
    return mse(this.z[depth], this.yb, B * dims[depth], f32);
  }

  private batchNormForward(l: number): void {
    const { batch: B, params, f32 } = this;
    const d = this.dims[l];
    const z = this.z[l];
    const xh = this.xhat[l];
    const u = this.u[l];
    const mean = this.mean[l];
    const inv = this.invStd[l];
    const g0 = this.gammaOff[l];
    const b0 = this.betaOff[l];
    for (let j = 0; j < d; j++) {
      let m = 0;
      for (let r = 0; r < B; r++) m += z[r * d + j];
      m /= B;
      let v = 0;
      for (let r = 0; r < B; r++) {
        const c = z[r * d + j] - m;
        v += c * c;
      }
      v /= B;
      const s = 1 / Math.sqrt(v + BATCH_NORM_EPS);
      mean[j] = f32 ? Math.fround(m) : m;
      inv[j] = f32 ? Math.fround(s) : s;
    }
    const n = B * d;
    for (let r = 0, o = 0; r < B; r++, o += d) {
      for (let j = 0; j < d; j++) {
        xh[o + j] = (z[o + j] - mean[j]) * inv[j];
        u[o + j] = params[g0 + j] * xh[o + j] + params[b0 + j];
      }
    }
    if (f32) {
      roundF32(xh, 0, n);
      roundF32(u, 0, n);
    }
  }

  /** In place: dz[l] holds ∂L/∂u on entry and ∂L/∂z on exit; fills ∂L/∂γ, ∂L/∂β. */
  private batchNormBackward(l: number): void {
    const { batch: B, params, grads, f32 } = this;
    const d = this.dims[l];
    const g = this.dz[l];
    const xh = this.xhat[l];
    const inv = this.invStd[l];
    const g0 = this.gammaOff[l];
    const b0 = this.betaOff[l];
    for (let j = 0; j < d; j++) {
      let sumDu = 0;
      let sumDuX = 0;
      for (let r = 0; r < B; r++) {
        sumDu += g[r * d + j];
        sumDuX += g[r * d + j] * xh[r * d + j];
      }
      grads[b0 + j] = f32 ? Math.fround(sumDu) : sumDu;
      grads[g0 + j] = f32 ? Math.fround(sumDuX) : sumDuX;
      // ∂L/∂x̂ = γ·∂L/∂u, so its sums are γ times those of ∂L/∂u.
      const gamma = params[g0 + j];
      const c = (gamma * inv[j]) / B;
      const s1 = sumDu;
      const s2 = sumDuX;
      for (let r = 0; r < B; r++) {
        const i = r * d + j;
        g[i] = c * (B * g[i] - s1 - xh[i] * s2);
      }
    }
    if (f32) roundF32(g, 0, B * d);
  }

  backward(): void {
    const { k, dims, depth, batch: B, grads, f32 } = this;
    const last = this.dz[depth];
    const nOut = B * dims[depth];
    mseGrad(this.z[depth], this.yb, last, nOut, f32);
    for (let l = depth; l >= 1; l--) {
      const dz = this.dz[l];
      k.gemmTN(dims[l], dims[l - 1], B, dz, this.a[l - 1], this.gw[l], false);
      if (f32) roundF32(this.gw[l], 0, dims[l] * dims[l - 1]);
      if (this.bias) {
        if (f32) columnSums(dz, B, dims[l], grads, this.bOff[l], f32);
        else k.columnSums(B, dims[l], dz, this.gb[l]);
      }
      if (l === 1) break;
      const prev = this.dz[l - 1];
      const n = B * dims[l - 1];
      k.gemmNN(B, dims[l - 1], dims[l], dz, this.w[l], prev, false);
      if (f32) roundF32(prev, 0, n);
      const pre = this.bn ? this.u[l - 1] : this.z[l - 1];
      if (this.act === 'tanh') k.tanhBackward(n, prev, this.a[l - 1], prev);
      else activateBackward(this.act, pre, this.a[l - 1], prev, n);
      if (f32) roundF32(prev, 0, n);
      if (this.bn) this.batchNormBackward(l - 1);
    }
  }

  readonly hasBackwardNorms = true;

  /** ‖∂L/∂z_l‖ from the buffer the backward pass left. */
  private backwardNorm(l: number): number {
    const { dims, batch: B, f32 } = this;
    return rootOf(sumSq(this.dz[l], 0, B * dims[l], f32), f32);
  }

  // Read once per run (step 1), so measured on demand from the buffers backward left, not every step.
  get backwardGain(): number {
    return this.backwardNorm(1) / this.backwardNorm(this.depth);
  }

  backwardNorms(out: Float64Array): void {
    for (let l = 1; l <= this.depth; l++) out[l - 1] = this.backwardNorm(l);
  }

  preActivations(): Float64Array[] {
    return this.z.slice(1);
  }

  locateActivation(): ActivationFault | null {
    const { dims, depth, batch: B } = this;
    for (let l = 1; l <= depth; l++) {
      const n = B * dims[l];
      let i = firstNonFinite(this.z[l], 0, n);
      if (i >= 0) return { layer: `W${l}`, where: `activation: pre-activation of layer W${l}`, value: this.z[l][i] };
      if (this.bn && l < depth) {
        i = firstNonFinite(this.u[l], 0, n);
        if (i >= 0)
          return { layer: `W${l}`, where: `activation: batch-norm output of layer W${l}`, value: this.u[l][i] };
      }
    }
    return null;
  }
}

class RnnModel implements Model {
  readonly batch: number;
  readonly params: Float64Array;
  readonly grads: Float64Array;
  readonly segments: Segment[] = [];
  readonly weightSegments: number[] = [];
  readonly xb: Float64Array;
  readonly yb: Float64Array;
  readonly hiddenGradNorms: Float64Array;
  measureHidden = true;
  activationProbe = 0;
  backwardGain = Number.NaN;
  readonly hasBackwardNorms = false;

  private readonly k: Kernels;
  private readonly s: RnnShape;
  private readonly f32: boolean;
  private readonly wxh: Float64Array;
  private readonly whh: Float64Array;
  private readonly why: Float64Array;
  private readonly gwxh: Float64Array;
  private readonly gwhh: Float64Array;
  private readonly gwhy: Float64Array;
  private readonly bhOff: number;
  private readonly byOff: number;
  /** Views of b_h and ∂L/∂b_h (with a bias). */
  private readonly bh: Float64Array | null = null;
  private readonly gbh: Float64Array | null = null;
  /** W_hhᵀ, refreshed once per forward pass so the T recurrent products read B with unit stride. */
  private readonly whhT: Float64Array;
  private readonly uAll: Float64Array;
  private readonly hAll: Float64Array;
  private readonly duAll: Float64Array;
  /** Views per time step: u[t], du[t] for t = 1..T; h[t] for t = 0..T. */
  private readonly u: Float64Array[] = [];
  private readonly h: Float64Array[] = [];
  private readonly du: Float64Array[] = [];
  /** du_2…du_T and h_1…h_{T−1} as contiguous blocks, paired row for row in ∂L/∂W_hh. */
  private readonly du2: Float64Array;
  private readonly h1: Float64Array;
  private readonly yhat: Float64Array;
  private readonly dy: Float64Array;
  private readonly dh: Float64Array;

  constructor(shape: RnnShape, batch: number, init: InitialParams & { kind: 'rnn' }, backend: Backend, f32: boolean) {
    this.batch = batch;
    this.k = backend.kernels;
    this.s = shape;
    this.f32 = f32;
    const { inputDim: D, hidden: H, outputDim: O, seqLength: T, bias } = shape;
    const B = batch;
    let total = 0;
    const push = (name: string, kind: SegmentKind, layer: number, length: number) => {
      this.segments.push({ name, kind, layer, offset: total, length });
      total += length;
      return this.segments.length - 1;
    };
    this.weightSegments.push(push('W_xh', 'weight', 0, H * D));
    this.weightSegments.push(push('W_hh', 'weight', 1, H * H));
    this.bhOff = bias ? this.segments[push('b_h', 'bias', 1, H)].offset : -1;
    this.weightSegments.push(push('W_hy', 'weight', 2, O * H));
    this.byOff = bias ? this.segments[push('b_y', 'bias', 2, O)].offset : -1;

    const bufs = carve(backend, (take) => ({
      params: take(total),
      grads: take(total),
      xb: take(T * B * D),
      yb: take(B * O),
      u: take(T * B * H),
      h: take((T + 1) * B * H),
      whhT: take(H * H),
      du: take(T * B * H),
      yhat: take(B * O),
      dy: take(B * O),
      dh: take(B * H),
    }));
    this.params = bufs.params;
    this.grads = bufs.grads;
    this.xb = bufs.xb;
    this.yb = bufs.yb;
    this.uAll = bufs.u;
    this.hAll = bufs.h;
    this.duAll = bufs.du;
    this.yhat = bufs.yhat;
    this.dy = bufs.dy;
    this.dh = bufs.dh;
    this.whhT = bufs.whhT;
    this.hiddenGradNorms = new Float64Array(T);
    const bh = B * H;
    for (let t = 0; t <= T; t++) {
      this.h[t] = this.hAll.subarray(t * bh, (t + 1) * bh);
      if (t > 0) {
        this.u[t] = this.uAll.subarray((t - 1) * bh, t * bh);
        this.du[t] = this.duAll.subarray((t - 1) * bh, t * bh);
      }
    }
    this.du2 = this.duAll.subarray(bh);
    this.h1 = this.hAll.subarray(bh);
    const view = (arr: Float64Array, i: number) => {
      const seg = this.segments[this.weightSegments[i]];
      return arr.subarray(seg.offset, seg.offset + seg.length);
    };
    this.wxh = view(this.params, 0);
    this.whh = view(this.params, 1);
    this.why = view(this.params, 2);
    this.gwxh = view(this.grads, 0);
    this.gwhh = view(this.grads, 1);
    this.gwhy = view(this.grads, 2);
    if (bias) {
      this.bh = this.params.subarray(this.bhOff, this.bhOff + H);
      this.gbh = this.grads.subarray(this.bhOff, this.bhOff + H);
    }
    this.wxh.set(init.inputWeights.w);
    this.whh.set(init.recurrentWeights.w);
    this.why.set(init.outputWeights.w);
    if (bias) {
      if (init.recurrentWeights.b) this.params.set(init.recurrentWeights.b, this.bhOff);
      if (init.outputWeights.b) this.params.set(init.outputWeights.b, this.byOff);
    }
    if (f32) roundF32(this.params, 0, total);
  }

  loadBatch(x: Float64Array, y: Float64Array, idx: Int32Array): void {
    const { inputDim: D, outputDim: O, seqLength: T } = this.s;
    const B = this.batch;
    for (let b = 0; b < B; b++) {
      const s = idx[b];
      for (let t = 0; t < T; t++) {
        const src = (s * T + t) * D;
        const dst = (t * B + b) * D;
        for (let j = 0; j < D; j++) this.xb[dst + j] = x[src + j];
      }
      for (let j = 0; j < O; j++) this.yb[b * O + j] = y[s * O + j];
    }
  }

  forward(): number {
    const { k, f32, params } = this;
    const { inputDim: D, hidden: H, outputDim: O, seqLength: T, activation } = this.s;
    const B = this.batch;
    const bh = B * H;
    k.gemmNT(T * B, H, D, this.xb, this.wxh, this.uAll, false);
    if (f32) roundF32(this.uAll, 0, T * bh);
    let probe = 0;
    // u_t += h_(t−1)·W_hhᵀ as a product with W_hhᵀ stored: the same sums in the same order as
    // gemmNT with W_hh, without transposing W_hh again at every time step.
    const whh = this.whh;
    const whhT = this.whhT;
    for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) whhT[j * H + i] = whh[i * H + j];
    const fused = !f32 && activation === 'tanh';
    for (let t = 1; t <= T; t++) {
      const u = this.u[t];
      // h_0 = 0 contributes nothing at t = 1.
      if (t > 1) k.gemmNN(B, H, H, this.h[t - 1], whhT, u, true);
      if (fused) {
        probe += k.biasTanh(B, H, u, this.bh, this.h[t]);
        continue;
      }
      if (this.bhOff >= 0) addBias(u, B, H, params, this.bhOff);
      if (f32) roundF32(u, 0, bh);
      probe += nonFiniteProbe(u, 0, bh);
      activate(activation, u, this.h[t], bh, k);
      if (f32) roundF32(this.h[t], 0, bh);
    }
    const yhat = this.yhat;
    k.gemmNT(B, O, H, this.h[T], this.why, yhat, false);
    if (f32) roundF32(yhat, 0, B * O);
    if (this.byOff >= 0) {
      addBias(yhat, B, O, params, this.byOff);
      if (f32) roundF32(yhat, 0, B * O);
    }
    probe += nonFiniteProbe(yhat, 0, B * O);
    this.activationProbe = probe;
    return mse(yhat, this.yb, B * O, f32);
  }

  backward(): void {
    const { k, f32, grads } = this;
    const { inputDim: D, hidden: H, outputDim: O, seqLength: T, activation } = this.s;
    const B = this.batch;
    const bh = B * H;
    mseGrad(this.yhat, this.yb, this.dy, B * O, f32);
    k.gemmTN(O, H, B, this.dy, this.h[T], this.gwhy, false);
    if (f32) roundF32(this.gwhy, 0, O * H);
    if (this.byOff >= 0) columnSums(this.dy, B, O, grads, this.byOff, f32);
    const dh = this.dh;
    k.gemmNN(B, H, O, this.dy, this.why, dh, false);
    if (f32) roundF32(dh, 0, bh);
    const measure = this.measureHidden;
    for (let t = T; t >= 1; t--) {
      if (measure) this.hiddenGradNorms[t - 1] = rootOf(sumSq(dh, 0, bh, f32), f32);
      const du = this.du[t];
      if (activation === 'tanh') {
        k.tanhBackward(bh, dh, this.h[t], du);
      } else {
        du.set(dh);
        activateBackward(activation, this.u[t], this.h[t], du, bh);
      }
      if (f32) roundF32(du, 0, bh);
      if (t > 1) {
        k.gemmNN(B, H, H, du, this.whh, dh, false);
        if (f32) roundF32(dh, 0, bh);
      }
    }
    k.gemmTN(H, D, T * B, this.duAll, this.xb, this.gwxh, false);
    if (f32) roundF32(this.gwxh, 0, H * D);
    // ∂L/∂W_hh = Σ_{t=2..T} du_tᵀ h_{t−1} (the t = 1 term meets h_0 = 0).
    if (T > 1) k.gemmTN(H, H, (T - 1) * B, this.du2, this.h1, this.gwhh, false);
    else this.gwhh.fill(0);
    if (f32) roundF32(this.gwhh, 0, H * H);
    if (this.gbh !== null) {
      if (f32) columnSums(this.duAll, T * B, H, grads, this.bhOff, f32);
      else k.columnSums(T * B, H, this.duAll, this.gbh);
    }
    if (measure) this.backwardGain = this.hiddenGradNorms[0] / this.hiddenGradNorms[T - 1];
  }

  backwardNorms(): void {
    throw new TypeError('an rnn has no per-layer backward norms (see hiddenGradNorms)');
  }

  preActivations(): Float64Array[] {
    return [...this.u.slice(1), this.yhat];
  }

  locateActivation(): ActivationFault | null {
    const { hidden: H, outputDim: O, seqLength: T } = this.s;
    const bh = this.batch * H;
    for (let t = 1; t <= T; t++) {
      const i = firstNonFinite(this.u[t], 0, bh);
      if (i >= 0) return { layer: 'W_hh', where: `activation: hidden pre-activation at t=${t}`, value: this.u[t][i] };
    }
    const i = firstNonFinite(this.yhat, 0, this.batch * O);
    if (i >= 0) return { layer: 'W_hy', where: 'activation: output ŷ', value: this.yhat[i] };
    return null;
  }
}
