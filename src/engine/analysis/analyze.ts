import type {
  AnalysisResult,
  LayerAnalysis,
  MeanFieldAnalysis,
  PartialProduct,
  ProductMatrix,
  RecurrentAnalysis,
} from '../../contract/analysis.js';
import { encodeNum } from '../../contract/num.js';
import type { ActivationName, NetworkSpec, RnnNetworkSpec } from '../../contract/spec.js';
import type { DenseParams, InitialParams, SpecIssue } from '../types.js';
import {
  cost,
  frobenius,
  fromDense,
  ldexp,
  log10Scaled,
  mantissaSingularValues,
  multiply,
  type ScaledMatrix,
  spectralRadius,
} from './linalg.js';
import { meanField } from './meanfield.js';

/**
 * Default ceiling on one analysis, in estimated nanoseconds (`cost`): 3 s on a loaded core, about
 * 1 s unloaded. POST /v1/analysis answers synchronously, so it must stay short.
 */
export const ANALYSIS_BUDGET = 3e9;
/** ‖W_hh^k‖ for k = 1..T−1 is extra: computed only when it fits in this much more (estimated ns). */
export const POWERS_BUDGET = 1e9;

/** The full product is returned entry by entry only up to this size. */
export const PRODUCT_MAX_DIM = 16;

interface Dims {
  rows: number;
  cols: number;
}

function layeredDims(network: Exclude<NetworkSpec, RnnNetworkSpec>): Dims[] {
  const input = network.inputDim ?? network.width;
  const output = network.outputDim ?? network.width;
  const dims: Dims[] = [];
  for (let l = 0; l < network.depth; l++) {
    dims.push({ rows: l === network.depth - 1 ? output : network.width, cols: l === 0 ? input : network.width });
  }
  return dims;
}

function layeredCost(dims: Dims[]): number {
  let total = 0;
  let rows = 0;
  const cols = dims[0].cols;
  for (const [k, d] of dims.entries()) {
    total += cost.svd(d.rows, d.cols);
    if (k > 0) total += cost.multiply(d.rows, d.cols, cols);
    rows = d.rows;
    // P_1 = W_1 reuses the layer's decomposition.
    if (k > 0) total += cost.svd(rows, cols);
  }
  if (rows === cols && rows <= PRODUCT_MAX_DIM) total += cost.evd(rows);
  return total;
}

function recurrentCost(n: RnnNetworkSpec): { base: number; powers: number } {
  const h = n.hidden;
  return {
    base: cost.svd(h, n.inputDim) + cost.svd(h, h) + cost.svd(n.outputDim, h) + cost.evd(h),
    // W_hh^1 reuses the layer's decomposition.
    powers: Math.max(0, n.seqLength - 2) * (cost.multiply(h, h, h) + cost.svd(h, h)),
  };
}

/** Estimated time of `analyzeParams` for this network, in nanoseconds (see `cost`). */
export function estimateAnalysis(network: NetworkSpec): number {
  if (network.kind !== 'rnn') return layeredCost(layeredDims(network));
  const c = recurrentCost(network);
  return c.powers <= POWERS_BUDGET ? c.base + c.powers : c.base;
}

/**
 * Problems that make an analysis request impossible to answer (422): over the time budget.
 * Shapes of explicit weights are the engine's `checkSpec`'s to judge.
 */
export function checkAnalysisBudget(network: NetworkSpec, budget = ANALYSIS_BUDGET): SpecIssue[] {
  const work = estimateAnalysis(network);
  if (work <= budget) return [];
  const over = `analysis would take about ${(work / 1e9).toPrecision(2)} s, over the budget of ${(budget / 1e9).toPrecision(2)} s`;
  return network.kind === 'rnn'
    ? [{ path: ['network', 'hidden'], message: `${over}; use a smaller hidden size` }]
    : [{ path: ['network', 'width'], message: `${over}; use a smaller width or depth` }];
}

/** The layer's summary, and its mantissa singular values for reuse. */
function layerAnalysis(name: string, m: ScaledMatrix): [LayerAnalysis, number[]] {
  const sv = mantissaSingularValues(m);
  const layer: LayerAnalysis = {
    name,
    shape: [m.rows, m.cols],
    sigmaMax: encodeNum(ldexp(sv[0], m.exp)),
    sigmaMin: encodeNum(ldexp(sv[sv.length - 1], m.exp)),
    frobenius: encodeNum(frobenius(m)),
  };
  return [layer, sv];
}

function productName(k: number): string {
  if (k === 1) return 'W1';
  if (k === 2) return 'W2·W1';
  return `W${k}·…·W1`;
}

/** gain^p by repeated multiplication in the order the product itself is formed (exact when the product is). */
function power(gain: number, p: number): number {
  let x = 1;
  for (let i = 0; i < p; i++) x *= gain;
  return x;
}

const num = (x: number | null) => (x === null ? null : encodeNum(x));

const randomSchemes = new Set(['gaussian', 'xavier', 'he', 'orthogonal']);

/** σ_w² = fanIn·Var(W) of a width×width hidden layer under the init scheme. */
function sigmaW2Of(init: NetworkSpec['init'], width: number): { sigmaW2: number; source: string } | null {
  switch (init.scheme) {
    case 'gaussian':
      return { sigmaW2: width * init.std ** 2, source: 'gaussian: σ_w² = fanIn·std² (fanIn = width)' };
    case 'xavier':
      return {
        sigmaW2: init.gain ** 2,
        source: 'xavier: std² = gain²·2/(fanIn+fanOut), fanIn = fanOut ⇒ σ_w² = gain²',
      };
    case 'he':
      return { sigmaW2: 2 * init.gain ** 2, source: 'he: std² = gain²·2/fanIn ⇒ σ_w² = 2·gain²' };
    case 'orthogonal':
      return {
        sigmaW2: init.gain ** 2,
        source: 'orthogonal: entries of gain·Q have mean square gain²/fanIn ⇒ σ_w² = gain² (Gaussian equivalent)',
      };
    default:
      return null;
  }
}

/** fanIn·mean(W²) pooled over the square (hidden-to-hidden) layers; null when there are none. */
function empiricalSigmaW2(layers: DenseParams[]): number | null {
  let sum = 0;
  let count = 0;
  for (const l of layers) {
    if (l.rows !== l.cols) continue;
    for (let i = 0; i < l.w.length; i++) sum += l.cols * l.w[i] * l.w[i];
    count += l.w.length;
  }
  return count > 0 ? sum / count : null;
}

function meanFieldAnalysis(
  network: Exclude<NetworkSpec, RnnNetworkSpec>,
  layers: DenseParams[],
): MeanFieldAnalysis | null {
  if (!randomSchemes.has(network.init.scheme)) return null;
  const sw = sigmaW2Of(network.init, network.width);
  if (!sw) return null;
  const activation: ActivationName = network.kind === 'mlp' ? network.activation : 'identity';
  const mf = meanField(activation, sw.sigmaW2, 0);
  return {
    activation,
    sigmaW2: encodeNum(sw.sigmaW2),
    sigmaW2Source: sw.source,
    empiricalSigmaW2: num(empiricalSigmaW2(layers)),
    sigmaB2: 0,
    qStar: encodeNum(mf.qStar),
    chi1: encodeNum(mf.chi1),
    gradFactorPerLayer: encodeNum(Math.sqrt(mf.chi1)),
    depthScale: encodeNum(mf.depthScale),
    phase: mf.phase,
    iterations: mf.iterations,
  };
}

function analyzeLayered(
  network: Exclude<NetworkSpec, RnnNetworkSpec>,
  layers: DenseParams[],
  seed: number,
): AnalysisResult {
  const mats = layers.map(fromDense);
  const notes: string[] = [];
  const analysed = mats.map((m, i) => layerAnalysis(`W${i + 1}`, m));

  const products: PartialProduct[] = [];
  let P = mats[0];
  let sv: number[] = analysed[0][1];
  for (let k = 1; k <= mats.length; k++) {
    if (k > 1) {
      P = multiply(mats[k - 1], P);
      sv = mantissaSingularValues(P);
    }
    products.push({
      k,
      name: productName(k),
      shape: [P.rows, P.cols],
      spectralNorm: encodeNum(ldexp(sv[0], P.exp)),
      log10SpectralNorm: encodeNum(sv[0] > 0 ? log10Scaled(sv[0], P.exp) : Number.NEGATIVE_INFINITY),
    });
  }

  let product: ProductMatrix | null = null;
  if (P.rows <= PRODUCT_MAX_DIM && P.cols <= PRODUCT_MAX_DIM) {
    const matrix: ProductMatrix['matrix'] = [];
    for (let i = 0; i < P.rows; i++) {
      const row: ProductMatrix['matrix'][number] = [];
      for (let j = 0; j < P.cols; j++) row.push(encodeNum(ldexp(P.a[i * P.cols + j], P.exp)));
      matrix.push(row);
    }
    product = {
      shape: [P.rows, P.cols],
      matrix,
      singularValues: sv.map((v) => encodeNum(ldexp(v, P.exp))),
      spectralRadius: P.rows === P.cols ? encodeNum(spectralRadius(P)) : null,
    };
  } else {
    notes.push(`The full product is ${P.rows}×${P.cols}: only its spectral norm is reported (entries up to 16×16).`);
  }
  if (network.kind === 'mlp') {
    notes.push(
      'Products multiply the weight matrices only: they ignore biases and activations (for tanh they are the Jacobian at the origin).',
    );
  }

  const scaledIdentity =
    network.kind === 'linear' && network.init.scheme === 'scaled-identity'
      ? {
          gain: network.init.gain,
          depth: network.depth,
          forwardGain: encodeNum(power(network.init.gain, network.depth)),
          layerGradFactor: encodeNum(power(network.init.gain, network.depth - 1)),
        }
      : null;

  return {
    kind: network.kind,
    seed,
    layers: analysed.map(([layer]) => layer),
    products,
    product,
    scaledIdentity,
    recurrent: null,
    meanField: meanFieldAnalysis(network, layers),
    notes,
  };
}

function analyzeRnn(
  network: RnnNetworkSpec,
  params: Extract<InitialParams, { kind: 'rnn' }>,
  seed: number,
): AnalysisResult {
  const xh = fromDense(params.inputWeights);
  const hh = fromDense(params.recurrentWeights);
  const hy = fromDense(params.outputWeights);
  const notes: string[] = [];
  const [hhLayer, hhSv] = layerAnalysis('W_hh', hh);
  const layers = [layerAnalysis('W_xh', xh)[0], hhLayer, layerAnalysis('W_hy', hy)[0]];

  const lambda1 = ldexp(hhSv[0], hh.exp);
  // |φ′| ≤ 1 for tanh (sech² ≤ 1), identity and relu alike.
  const gamma = 1;
  const T = network.seqLength;
  const condition: RecurrentAnalysis['condition'] =
    lambda1 < 1 / gamma ? 'vanishing-guaranteed' : lambda1 > 1 / gamma ? 'exploding-possible' : 'boundary';
  const bound = (gamma * lambda1) ** (T - 1);
  const fmt = (x: number) => String(Number(x.toPrecision(6)));
  const message =
    condition === 'vanishing-guaranteed'
      ? `λ₁ = ${fmt(lambda1)} < 1/γ = ${1 / gamma}: gradients through time vanish (a sufficient condition, Pascanu et al. 2013); ‖∂h_T/∂h_1‖ ≤ λ₁^(T−1) = ${fmt(bound)}.`
      : condition === 'exploding-possible'
        ? `λ₁ = ${fmt(lambda1)} > 1/γ = ${1 / gamma}: gradients through time can explode (the necessary condition holds; not a guarantee, Pascanu et al. 2013).`
        : `λ₁ = 1/γ: on the boundary between Pascanu et al.'s conditions.`;

  let powers: RecurrentAnalysis['powers'] = null;
  if (recurrentCost(network).powers <= POWERS_BUDGET) {
    powers = [];
    let P = hh;
    for (let k = 1; k <= T - 1; k++) {
      if (k > 1) P = multiply(hh, P);
      powers.push(encodeNum(k === 1 ? lambda1 : ldexp(mantissaSingularValues(P)[0], P.exp)));
    }
  } else {
    notes.push('‖W_hh^k‖ for k = 1..T−1 is over the work budget for this hidden size and sequence length: omitted.');
  }

  return {
    kind: 'rnn',
    seed,
    layers,
    products: [],
    product: null,
    scaledIdentity: null,
    recurrent: {
      activation: network.activation,
      seqLength: T,
      spectralRadius: encodeNum(spectralRadius(hh)),
      lambda1: encodeNum(lambda1),
      gamma,
      condition,
      message,
      jacobianBound: encodeNum(bound),
      powers,
    },
    meanField: null,
    notes,
  };
}

/**
 * The analysis of given weights (those `initParams` draws, or any others of the network's shapes).
 * Throws only when `params` does not fit `network` (a programming error, not bad input).
 */
export function analyzeParams(network: NetworkSpec, params: InitialParams, seed = 0): AnalysisResult {
  if (network.kind === 'rnn') {
    if (params.kind !== 'rnn') throw new TypeError('analyzeParams: an rnn needs rnn parameters');
    return analyzeRnn(network, params, seed);
  }
  if (params.kind !== 'layered')
    throw new TypeError(`analyzeParams: a ${network.kind} network needs layered parameters`);
  return analyzeLayered(network, params.layers, seed);
}
