/**
 * POST /v1/analysis: the request (a network, as in the job spec, and a seed) and the response (what
 * the network's weights do to a signal at initialization). Numbers that can overflow or be
 * undefined travel as `Num` (the strings "NaN", "Infinity", "-Infinity" when not finite).
 */
import { z } from 'zod';
import { Num } from './events.js';
import { Network } from './spec.js';

export const AnalysisRequest = z
  .object({
    network: Network,
    seed: z
      .int()
      .min(0)
      .max(4294967295)
      .default(0)
      .describe('Seed of the initial weights (the same draw a job with this seed starts from).'),
  })
  .strict()
  .meta({ id: 'AnalysisRequest' });
/** What a client sends. */
export type AnalysisRequestInput = z.input<typeof AnalysisRequest>;
/** A parsed request, every default filled in: what the engine's `analyze` takes. */
export type AnalysisRequest = z.output<typeof AnalysisRequest>;

// A pair as an array of exactly two integers, not a `prefixItems` tuple: common validators (Prism,
// for one) read a tuple closed by `items: false` as "no items allowed".
const Shape = z.array(z.int()).length(2).describe('[rows, cols] = [outputs, inputs].');

export const LayerAnalysis = z
  .object({
    name: z.string().describe('W1…WL, or W_xh, W_hh, W_hy.'),
    shape: Shape,
    sigmaMax: Num.describe('Largest singular value (the spectral norm).'),
    sigmaMin: Num.describe('Smallest of the min(rows, cols) singular values.'),
    frobenius: Num.describe('Frobenius norm.'),
  })
  .meta({ id: 'LayerAnalysis' });

export const PartialProduct = z
  .object({
    k: z.int().describe('P_k = W_k…W_1.'),
    name: z.string().describe('e.g. "W3·W2·W1".'),
    shape: Shape,
    spectralNorm: Num.describe('‖P_k‖₂; "Infinity" when it overflows float64, 0 when it underflows.'),
    log10SpectralNorm: Num.describe('log10 ‖P_k‖₂, finite even when the norm itself overflows.'),
  })
  .meta({ id: 'PartialProduct' });

export const ProductMatrix = z
  .object({
    shape: Shape,
    matrix: z.array(z.array(Num)).describe('W_L…W_1, row-major [rows][cols], multiplied in the natural order.'),
    singularValues: z.array(Num).describe('Descending.'),
    spectralRadius: Num.nullable().describe('Largest |eigenvalue| (square products only).'),
  })
  .meta({ id: 'ProductMatrix' });

export const ScaledIdentityPrediction = z
  .object({
    gain: z.number(),
    depth: z.int(),
    forwardGain: Num.describe('gain^L: how much W_L…W_1 scales every input.'),
    layerGradFactor: Num.describe('gain^(L−1): the factor each per-layer weight gradient carries.'),
  })
  .meta({ id: 'ScaledIdentityPrediction' });

export const RecurrentAnalysis = z
  .object({
    activation: z.enum(['tanh', 'identity', 'relu']),
    seqLength: z.int(),
    spectralRadius: Num.describe('Largest |eigenvalue| of W_hh.'),
    lambda1: Num.describe('λ₁: largest singular value of W_hh.'),
    gamma: z.number().describe('Bound on |φ′| (1 for tanh, identity and relu).'),
    condition: z
      .enum(['vanishing-guaranteed', 'exploding-possible', 'boundary'])
      .describe('Pascanu et al. 2013: λ₁ < 1/γ is sufficient for vanishing, λ₁ > 1/γ necessary for exploding.'),
    message: z.string(),
    jacobianBound: Num.describe('(γ·λ₁)^(T−1): bound on ‖∂h_T/∂h_1‖ (attained direction-wise by a linear rnn).'),
    powers: z
      .array(Num)
      .nullable()
      .describe(
        '‖W_hh^k‖₂ for k = 1..T−1 (for a linear rnn, exactly max ‖∂h_T/∂h_(T−k)‖); null when over the work budget.',
      ),
  })
  .meta({ id: 'RecurrentAnalysis' });

export const MeanFieldAnalysis = z
  .object({
    activation: z.enum(['identity', 'tanh', 'relu', 'sigmoid']),
    sigmaW2: Num.describe('σ_w² = fanIn·Var(W) of a hidden (width×width) layer, from the scheme.'),
    sigmaW2Source: z.string().describe('How σ_w² follows from the init scheme.'),
    empiricalSigmaW2: Num.nullable().describe(
      'fanIn·mean(W²) over the drawn width×width layers (null when there are none): the draw’s σ_w².',
    ),
    sigmaB2: z.number().describe('σ_b²: 0, biases start at zero.'),
    qStar: Num.describe('Fixed point of q ← σ_w²·E[φ(√q·z)²] + σ_b², iterated from q = 1.'),
    chi1: Num.describe('χ₁ = σ_w²·E[φ′(√q*·z)²] (Schoenholz et al. 2017).'),
    gradFactorPerLayer: Num.describe('√χ₁: the factor by which gradient norms change per layer.'),
    depthScale: Num.describe('ξ = −1/ln χ₁; "Infinity" at χ₁ = 1.'),
    phase: z.enum(['ordered', 'critical', 'chaotic']),
    iterations: z.int().describe('Fixed-point iterations run.'),
  })
  .meta({ id: 'MeanFieldAnalysis' });

export const AnalysisResult = z
  .object({
    kind: z.enum(['linear', 'mlp', 'rnn']),
    seed: z.int(),
    layers: z.array(LayerAnalysis),
    products: z.array(PartialProduct).describe('Partial products P_1…P_L (linear, mlp); empty for rnn.'),
    product: ProductMatrix.nullable().describe('The full product when it is at most 16×16 (linear, mlp).'),
    scaledIdentity: ScaledIdentityPrediction.nullable().describe('Linear networks with scaled-identity init.'),
    recurrent: RecurrentAnalysis.nullable(),
    meanField: MeanFieldAnalysis.nullable().describe('linear and mlp with a random init scheme.'),
    notes: z.array(z.string()),
  })
  .meta({ id: 'AnalysisResult' });
export type AnalysisResult = z.output<typeof AnalysisResult>;
export type LayerAnalysis = z.output<typeof LayerAnalysis>;
export type PartialProduct = z.output<typeof PartialProduct>;
export type ProductMatrix = z.output<typeof ProductMatrix>;
export type RecurrentAnalysis = z.output<typeof RecurrentAnalysis>;
export type MeanFieldAnalysis = z.output<typeof MeanFieldAnalysis>;
