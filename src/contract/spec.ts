/**
 * The job specification: the request body of POST /v1/jobs, and the input of the engine and the
 * CLI. Structural rules live here (types, ranges, unknown keys); rules that relate fields to each
 * other (explicit shapes chaining, batch-norm on an rnn, the work budget) are checked by the
 * engine's `checkSpec` and answered with 422.
 */
import { z } from 'zod';

/** Hard ceilings on sizes, so that one request cannot ask for unbounded memory. */
export const LIMITS = {
  depth: 500,
  width: 2048,
  dim: 4096,
  hidden: 1024,
  seqLength: 2000,
  samples: 200_000,
  steps: 1_000_000,
  batchSize: 8192,
  mitigations: 16,
  nameLength: 200,
} as const;

const int = (min: number, max: number) => z.int().min(min).max(max);

/**
 * Free text must be well-formed Unicode: a lone surrogate (legal in JSON as "\ud800") cannot be
 * stored as UTF-8 and would read back as U+FFFD in one place and as itself in another (issue 11).
 */
export const wellFormed = (s: z.ZodString) =>
  // In /u mode a surrogate pair is one astral code point; only a lone half is in category Cs.
  s.refine((x) => !/\p{Cs}/u.test(x), 'must be well-formed Unicode text (no lone surrogate code units)');
const positive = z.number().positive();
const nonNegative = z.number().nonnegative();
const vector = z.array(z.number());
const matrix = z.array(vector);

const gain = positive.default(1).describe('Multiplies the scheme’s standard deviation (or the identity).');

const scaledIdentity = z
  .object({
    scheme: z.literal('scaled-identity'),
    gain: z.number().default(1).describe('W = gain·I (a rectangular identity for non-square layers).'),
  })
  .strict();
const gaussian = z
  .object({ scheme: z.literal('gaussian'), std: nonNegative.describe('Entries drawn from N(0, std²).') })
  .strict();
const xavier = z
  .object({ scheme: z.literal('xavier'), gain: gain.describe('Normal, std = gain·√(2/(fanIn+fanOut)).') })
  .strict();
const he = z.object({ scheme: z.literal('he'), gain: gain.describe('Normal, std = gain·√(2/fanIn).') }).strict();
const orthogonal = z
  .object({ scheme: z.literal('orthogonal'), gain: gain.describe('gain × a (semi-)orthogonal matrix.') })
  .strict();

const explicitLayered = z
  .object({
    scheme: z.literal('explicit'),
    weights: z.array(matrix).min(1).describe('One [out][in] matrix per layer, first layer first.'),
    biases: z.array(vector).optional().describe('One vector per layer (when the network has biases).'),
  })
  .strict();

const explicitRnn = z
  .object({
    scheme: z.literal('explicit'),
    inputWeights: matrix.describe('W_xh, [hidden][inputDim]'),
    recurrentWeights: matrix.describe('W_hh, [hidden][hidden]'),
    hiddenBias: vector.optional().describe('b_h, [hidden]'),
    outputWeights: matrix.describe('W_hy, [outputDim][hidden]'),
    outputBias: vector.optional().describe('b_y, [outputDim]'),
  })
  .strict();

export const RandomInit = z.discriminatedUnion('scheme', [scaledIdentity, gaussian, xavier, he, orthogonal]);
export const LayeredInit = z.discriminatedUnion('scheme', [
  scaledIdentity,
  gaussian,
  xavier,
  he,
  orthogonal,
  explicitLayered,
]);
export const RnnInit = z.discriminatedUnion('scheme', [scaledIdentity, gaussian, xavier, he, orthogonal, explicitRnn]);

export const Activation = z.enum(['identity', 'tanh', 'relu', 'sigmoid']);
export const RnnActivation = z.enum(['tanh', 'identity', 'relu']);

const layeredShape = {
  depth: int(1, LIMITS.depth).describe('Number of dense layers.'),
  width: int(1, LIMITS.width).default(2).describe('Width of every hidden layer.'),
  inputDim: int(1, LIMITS.dim).optional().describe('Defaults to width.'),
  outputDim: int(1, LIMITS.dim).optional().describe('Defaults to width.'),
};

export const LinearNetwork = z
  .object({
    kind: z.literal('linear'),
    ...layeredShape,
    bias: z.boolean().default(false),
    init: LayeredInit.default({ scheme: 'xavier', gain: 1 }),
  })
  .strict();

export const MlpNetwork = z
  .object({
    kind: z.literal('mlp'),
    ...layeredShape,
    activation: Activation.default('tanh'),
    bias: z.boolean().default(true),
    init: LayeredInit.default({ scheme: 'xavier', gain: 1 }),
  })
  .strict();

export const RnnNetwork = z
  .object({
    kind: z.literal('rnn'),
    hidden: int(1, LIMITS.hidden).default(16),
    seqLength: int(1, LIMITS.seqLength).default(20),
    inputDim: int(1, LIMITS.dim).default(1),
    outputDim: int(1, LIMITS.dim).default(1),
    activation: RnnActivation.default('tanh'),
    bias: z.boolean().default(true),
    init: RnnInit.default({ scheme: 'xavier', gain: 1 }),
  })
  .strict();

export const Network = z.discriminatedUnion('kind', [LinearNetwork, MlpNetwork, RnnNetwork]);

export const SyntheticData = z
  .object({
    kind: z.literal('synthetic'),
    samples: int(1, LIMITS.samples).default(256),
    featureScales: z
      .array(positive)
      .optional()
      .describe(
        'One scale per input feature (length = inputDim); scales orders of magnitude apart make inputs badly scaled.',
      ),
    noise: nonNegative.default(0.01).describe('Std of Gaussian noise added to the targets.'),
  })
  .strict();

export const ExplicitData = z
  .object({
    kind: z.literal('explicit'),
    inputs: z
      .array(z.union([vector, matrix]))
      .min(1)
      .describe('linear/mlp: [samples][inputDim]; rnn: [samples][seqLength][inputDim].'),
    targets: matrix.min(1).describe('[samples][outputDim]'),
  })
  .strict();

export const Data = z.discriminatedUnion('kind', [SyntheticData, ExplicitData]);

export const Optimizer = z.enum(['sgd', 'momentum', 'adam']);
export const Dtype = z.enum(['float64', 'float32']);

export const Training = z
  .object({
    steps: int(1, LIMITS.steps).default(100),
    batchSize: int(1, LIMITS.batchSize).default(32).describe('The full batch when ≥ samples.'),
    learningRate: positive.default(0.01),
    optimizer: Optimizer.default('sgd'),
    dtype: Dtype.default('float64'),
    stopOnNonFinite: z
      .boolean()
      .default(true)
      .describe('Stop at the first non-finite value (it is reported either way).'),
  })
  .strict();

export const Mitigation = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('clip-norm'), maxNorm: positive }).strict(),
  z.object({ kind: z.literal('clip-value'), maxValue: positive }).strict(),
  z.object({ kind: z.literal('batch-norm') }).strict(),
  z
    .object({
      kind: z.literal('lr-schedule'),
      warmupSteps: int(0, LIMITS.steps).default(0),
      decay: z.enum(['none', 'cosine', 'step']).default('none'),
      stepSize: int(1, LIMITS.steps)
        .optional()
        .describe('step decay: steps between drops (default: a third of the post-warm-up steps).'),
      gamma: z.number().gt(0).lte(1).default(0.1).describe('step decay: factor per drop.'),
    })
    .strict(),
  z.object({ kind: z.literal('input-normalization') }).strict(),
]);

export const Record = z
  .object({
    every: int(1, LIMITS.steps)
      .default(1)
      .describe('Record every n-th step (the first, the last and the first non-finite step always).'),
    layers: z.boolean().default(true),
    hiddenGradNorms: z.boolean().default(false).describe('rnn: record ‖∂L/∂h_t‖ for every t.'),
  })
  .strict();

export const JobSpec = z
  .object({
    name: wellFormed(z.string().max(LIMITS.nameLength)).optional(),
    seed: int(0, 4294967295).default(0),
    network: Network,
    data: Data.prefault({ kind: 'synthetic' }),
    training: Training.prefault({}),
    mitigations: z.array(Mitigation).max(LIMITS.mitigations).default([]),
    record: Record.prefault({}),
  })
  .strict();

/** What a client sends (defaults may be left out). */
export type JobSpecInput = z.input<typeof JobSpec>;
/** A parsed spec: every default filled in. The engine takes this. */
export type JobSpec = z.output<typeof JobSpec>;
export type NetworkSpec = JobSpec['network'];
export type LinearNetworkSpec = z.output<typeof LinearNetwork>;
export type MlpNetworkSpec = z.output<typeof MlpNetwork>;
export type RnnNetworkSpec = z.output<typeof RnnNetwork>;
export type DataSpec = JobSpec['data'];
export type TrainingSpec = JobSpec['training'];
export type MitigationSpec = JobSpec['mitigations'][number];
export type ActivationName = z.output<typeof Activation>;
