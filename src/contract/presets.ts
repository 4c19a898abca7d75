/**
 * The textbook scenarios behind GET /v1/presets: each a ready job spec that shows one failure, and
 * beside it the same spec with a mitigation that fixes it (and, where the fix is slow, more steps or
 * the rate the mitigation makes safe). A variant promising 'converged' genuinely fits: its final loss
 * is at most half the constant predictor's (docs/verdicts.md). Data only;
 * test/presets.test.ts runs every spec through the engine and checks the outcome each one promises.
 *
 * Every spec is small (well under a second of engine time) and fixes its seed, so it shows the
 * same thing on every run.
 */
import { z } from 'zod';
import { GradientVerdict, Outcome, TrainingVerdict } from './events.js';
import { JobSpec, type JobSpecInput } from './spec.js';
import { SweepPreset } from './sweep.js';

export const Phenomenon = z
  .enum(['exploding', 'vanishing', 'nonfinite', 'diverged'])
  .meta({ id: 'Phenomenon', description: 'What the preset is built to show.' });
export type Phenomenon = z.output<typeof Phenomenon>;

export const MitigatedPreset = z
  .object({
    id: z.string(),
    title: z.string(),
    mitigation: z.string().describe('What changed from the preset, and why it helps.'),
    expectedOutcome: Outcome.describe('The deprecated single outcome the run summary reports.'),
    expectedGradients: GradientVerdict.describe('summary.gradients.verdict of the run.'),
    expectedTraining: TrainingVerdict.describe('summary.training.verdict of the run.'),
    spec: JobSpec,
  })
  .meta({ id: 'MitigatedPreset' });

export const Preset = z
  .object({
    id: z.string(),
    title: z.string(),
    phenomenon: Phenomenon,
    expectedOutcome: Outcome.describe('The deprecated single outcome the run summary reports.'),
    expectedGradients: GradientVerdict.describe('summary.gradients.verdict of the run.'),
    expectedTraining: TrainingVerdict.describe('summary.training.verdict of the run.'),
    description: z
      .string()
      .describe(
        'expectedGradients and expectedTraining are what the run summary says; training can fail in its own way: exploding gradients usually end in a non-finite value.',
      ),
    spec: JobSpec,
    mitigated: z.array(MitigatedPreset),
  })
  .meta({ id: 'Preset' });

export const PresetList = z.array(Preset).meta({ id: 'PresetList' });

/** GET /v1/presets: the job scenarios and, beside them, the classic sweeps (ready POST /v1/sweeps bodies). */
export const PresetCatalog = z
  .object({
    presets: PresetList,
    sweeps: z.array(SweepPreset).describe('The classic results as sweeps; also at GET /v1/sweeps/presets.'),
  })
  .meta({ id: 'PresetCatalog' });

export interface MitigatedPreset {
  id: string;
  title: string;
  mitigation: string;
  expectedOutcome: 'converged' | 'stable';
  expectedGradients: GradientVerdict;
  expectedTraining: TrainingVerdict;
  spec: JobSpecInput;
}

export interface Preset {
  id: string;
  title: string;
  phenomenon: Phenomenon;
  expectedOutcome: Outcome;
  expectedGradients: GradientVerdict;
  expectedTraining: TrainingVerdict;
  description: string;
  spec: JobSpecInput;
  mitigated: MitigatedPreset[];
}

/** `base` with some top-level parts replaced: variants differ from their preset in one visible place. */
function variant(base: JobSpecInput, change: Partial<JobSpecInput>): JobSpecInput {
  return { ...base, ...change };
}

const textbook = (gain: number, name: string): JobSpecInput => ({
  name,
  seed: 1,
  network: { kind: 'linear', depth: 10, width: 2, bias: false, init: { scheme: 'scaled-identity', gain } },
  data: { kind: 'synthetic', samples: 64 },
  training: { steps: 200, batchSize: 64, learningRate: 0.01, optimizer: 'sgd' },
});
const textbookExploding = textbook(1.5, 'textbook: W = 1.5·I, 10 layers');
const textbookVanishing = textbook(0.5, 'textbook: W = 0.5·I, 10 layers');
const orthogonalTextbook = {
  kind: 'linear',
  depth: 10,
  width: 2,
  bias: false,
  init: { scheme: 'orthogonal', gain: 1 },
} as const;

const highLr: JobSpecInput = {
  name: 'learning rate 1.0 on a 3-layer linear net',
  seed: 1,
  network: { kind: 'linear', depth: 3, width: 8, inputDim: 4, outputDim: 1, init: { scheme: 'xavier', gain: 1 } },
  data: { kind: 'synthetic', samples: 128 },
  training: { steps: 100, batchSize: 128, learningRate: 1, optimizer: 'sgd' },
};

const badlyScaled: JobSpecInput = {
  name: 'features on scales 1 and 1000',
  seed: 1,
  network: { kind: 'linear', depth: 2, width: 4, inputDim: 2, outputDim: 1, init: { scheme: 'xavier', gain: 1 } },
  data: { kind: 'synthetic', samples: 128, featureScales: [1, 1000] },
  training: { steps: 200, batchSize: 128, learningRate: 0.01, optimizer: 'sgd' },
};

const rnnData = { kind: 'synthetic', samples: 16 } as const;
const rnnTraining = { steps: 100, batchSize: 16, learningRate: 0.01, optimizer: 'sgd' } as const;
// ‖∂L/∂h_t‖ for every t: the gradient through time is what these presets are about.
const rnnRecord = { hiddenGradNorms: true } as const;
const rnnExploding: JobSpecInput = {
  name: 'linear rnn, T = 100, W_hh = 1.05·orthogonal',
  seed: 1,
  network: {
    kind: 'rnn',
    hidden: 8,
    seqLength: 100,
    activation: 'identity',
    init: { scheme: 'orthogonal', gain: 1.05 },
  },
  data: rnnData,
  training: rnnTraining,
  record: rnnRecord,
};
const rnnVanishing: JobSpecInput = {
  name: 'tanh rnn, T = 100, W_hh = 0.8·orthogonal',
  seed: 1,
  network: { kind: 'rnn', hidden: 8, seqLength: 100, activation: 'tanh', init: { scheme: 'orthogonal', gain: 0.8 } },
  data: rnnData,
  training: rnnTraining,
  record: rnnRecord,
};

const deepMlp = (activation: 'relu' | 'tanh', init: { scheme: 'he' | 'xavier'; gain: number }) =>
  ({ kind: 'mlp', depth: 20, width: 16, inputDim: 4, outputDim: 1, activation, init }) as const;
const mlpData = { kind: 'synthetic', samples: 32 } as const;
const mlpTraining = { steps: 100, batchSize: 32, learningRate: 0.01, optimizer: 'sgd' } as const;
const reluExploding: JobSpecInput = {
  name: '20 relu layers, He init × 2',
  seed: 1,
  network: deepMlp('relu', { scheme: 'he', gain: 2 }),
  data: mlpData,
  training: mlpTraining,
};
const tanhVanishing: JobSpecInput = {
  name: '20 tanh layers, Xavier init × 0.5',
  seed: 1,
  network: deepMlp('tanh', { scheme: 'xavier', gain: 0.5 }),
  data: mlpData,
  training: mlpTraining,
};

const catalogue: Preset[] = [
  {
    id: 'textbook-exploding',
    title: 'Exploding gradients: 10 linear layers with W = 1.5·I',
    phenomenon: 'exploding',
    expectedOutcome: 'nonfinite',
    expectedGradients: 'exploding',
    expectedTraining: 'nonfinite',
    description:
      'y = W10…W1·x with every W = 1.5·I (2×2): the product is 1.5^10·I = 57.665·I, so the output, the loss and the ' +
      'gradient reaching the first layer are scaled up ~58× (each weight gradient carries 1.5^9 ≈ 38.4). At learning ' +
      'rate 0.01 the first update overshoots, the gradient grows step over step, and the loss is non-finite by step 3.',
    spec: textbookExploding,
    mitigated: [
      {
        id: 'textbook-exploding-clip-norm',
        title: 'Clip the global gradient norm to 1, and train 500 steps',
        mitigation:
          'clip-norm 1.0 at the same rate 0.01: every update is at most 0.01 long, whatever the gradient, so the ' +
          'first huge gradients only point the way and the loss falls steadily. Walking ten 1.5·I layers back to a ' +
          'fit at that pace takes a few hundred steps (after 200 the loss is still ~3× the constant predictor’s), ' +
          'hence 500 steps instead of 200.',
        expectedOutcome: 'converged',
        expectedGradients: 'exploding',
        expectedTraining: 'converged',
        spec: variant(textbookExploding, {
          training: { ...textbookExploding.training, steps: 500 },
          mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
        }),
      },
      {
        id: 'textbook-exploding-warmup',
        title: 'Warm the learning rate up over 50 steps',
        mitigation:
          'lr-schedule with 50 warm-up steps: the first updates are tiny while the gradients are huge, and by the time ' +
          'the rate reaches 0.01 the product has shrunk and the gradients with it.',
        expectedOutcome: 'converged',
        expectedGradients: 'exploding',
        expectedTraining: 'converged',
        spec: variant(textbookExploding, { mitigations: [{ kind: 'lr-schedule', warmupSteps: 50, decay: 'none' }] }),
      },
      {
        id: 'textbook-exploding-orthogonal',
        title: 'Orthogonal initialization',
        mitigation:
          'init orthogonal (gain 1): every layer, and so their product, preserves norms; the backward gain is 1 ' +
          'instead of 1.5^9.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(textbookExploding, { network: orthogonalTextbook }),
      },
    ],
  },
  {
    id: 'textbook-vanishing',
    title: 'Vanishing gradients: 10 linear layers with W = 0.5·I',
    phenomenon: 'vanishing',
    expectedOutcome: 'vanishing',
    expectedGradients: 'vanishing',
    expectedTraining: 'stalled',
    description:
      'The same network with W = 0.5·I: the product is 0.5^10·I = 0.0009765625·I. The output is nearly 0 whatever ' +
      'the input, and every weight gradient carries 0.5^9 ≈ 0.002: after 200 steps the loss has hardly moved.',
    spec: textbookVanishing,
    mitigated: [
      {
        id: 'textbook-vanishing-orthogonal',
        title: 'Orthogonal initialization',
        mitigation: 'init orthogonal (gain 1): norm-preserving layers, backward gain 1.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(textbookVanishing, { network: orthogonalTextbook }),
      },
      {
        id: 'textbook-vanishing-identity',
        title: 'Identity initialization (gain 1)',
        mitigation:
          'scaled-identity with gain 1: the product starts as I, so neither the signal nor the gradient shrinks.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(textbookVanishing, {
          network: { kind: 'linear', depth: 10, width: 2, bias: false, init: { scheme: 'scaled-identity', gain: 1 } },
        }),
      },
    ],
  },
  {
    id: 'learning-rate-too-high',
    title: 'A learning rate that is too high',
    phenomenon: 'diverged',
    expectedOutcome: 'nonfinite',
    expectedGradients: 'exploding',
    expectedTraining: 'nonfinite',
    description:
      'A well-initialized 3-layer linear network trained with learning rate 1.0, far above 2/(largest curvature): ' +
      'each step overshoots the minimum by more than it corrects, the loss multiplies step over step (≈10^188 at ' +
      'step 4) and overflows at step 5.',
    spec: highLr,
    mitigated: [
      {
        id: 'learning-rate-too-high-lower',
        title: 'A smaller learning rate (0.03)',
        mitigation: 'learning rate 0.03: below the stability limit, gradient descent contracts towards the minimum.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(highLr, { training: { ...highLr.training, learningRate: 0.03 } }),
      },
      {
        id: 'learning-rate-too-high-clip-norm',
        title: 'Clip the global gradient norm to 0.1',
        mitigation:
          'clip-norm 0.1: at rate 1.0 every step is at most 0.1 long, too short to overshoot far; it converges, more ' +
          'slowly than with a proper rate.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(highLr, { mitigations: [{ kind: 'clip-norm', maxNorm: 0.1 }] }),
      },
    ],
  },
  {
    id: 'badly-scaled-inputs',
    title: 'Badly scaled inputs: features on scales 1 and 1000',
    phenomenon: 'diverged',
    expectedOutcome: 'nonfinite',
    expectedGradients: 'exploding',
    expectedTraining: 'nonfinite',
    description:
      'Two input features, the second 1000× larger than the first. The loss is 10^6× more curved along the weights ' +
      'that read the large feature: the step-1 gradient is ~10^5 (against ~5 for standardized inputs), a learning ' +
      'rate small enough for that direction would never move the other, and at 0.01 the run overflows by step 5.',
    spec: badlyScaled,
    mitigated: [
      {
        id: 'badly-scaled-inputs-normalized',
        title: 'Standardize the inputs',
        mitigation:
          'input-normalization: each feature to mean 0 and std 1 from the data, so both directions curve alike.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(badlyScaled, { mitigations: [{ kind: 'input-normalization' }] }),
      },
      {
        id: 'badly-scaled-inputs-adam',
        title: 'Adam instead of SGD',
        mitigation:
          'optimizer adam: its per-parameter step sizes divide by the gradient’s running RMS, undoing the 1000× ' +
          'scale difference (a different optimizer rather than a mitigation entry).',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(badlyScaled, { training: { ...badlyScaled.training, optimizer: 'adam' } }),
      },
    ],
  },
  {
    id: 'rnn-long-exploding',
    title: 'Exploding gradients through time: linear rnn over 100 steps, λ₁ = 1.05',
    phenomenon: 'exploding',
    expectedOutcome: 'nonfinite',
    expectedGradients: 'exploding',
    expectedTraining: 'nonfinite',
    description:
      'A linear (identity-activation) rnn with W_hh = 1.05·Q, Q orthogonal, over T = 100 steps. Backpropagation ' +
      'through time multiplies by W_hhᵀ once per step, so ‖∂L/∂h_1‖ = 1.05^99 ≈ 125 × ‖∂L/∂h_T‖ (Pascanu et al. ' +
      '2013: λ₁ > 1 is necessary for exploding), and the forward pass grows alike: non-finite at step 2.',
    spec: rnnExploding,
    mitigated: [
      {
        id: 'rnn-long-exploding-clip-norm',
        title: 'Clip the global gradient norm to 1, and train 300 steps',
        mitigation:
          'clip-norm 1.0 at the same rate 0.01: the standard fix for rnns (Pascanu et al. 2013): the direction of ' +
          'the huge gradient is kept, its length bounded, so W_hh shrinks instead of the run overflowing. Steps ' +
          'that short need 300 of them to fit the 16 training sequences (after 100 the loss is still 0.77× the ' +
          'constant predictor’s).',
        expectedOutcome: 'converged',
        expectedGradients: 'exploding',
        expectedTraining: 'converged',
        spec: variant(rnnExploding, {
          training: { ...rnnTraining, steps: 300 },
          mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
        }),
      },
      {
        id: 'rnn-long-exploding-adam-clip-norm',
        title: 'Adam with the global gradient norm clipped to 1',
        mitigation:
          'optimizer adam and clip-norm 1.0, the usual recipe for training rnns: clipping bounds the exploded first ' +
          'gradients before they enter Adam’s second-moment average. Unclipped, they dominate that average for ' +
          'hundreds of steps and shrink every later step: Adam alone stays finite but ends at ~10× the constant ' +
          'predictor’s loss.',
        expectedOutcome: 'converged',
        expectedGradients: 'exploding',
        expectedTraining: 'converged',
        spec: variant(rnnExploding, {
          training: { ...rnnTraining, steps: 300, optimizer: 'adam' },
          mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
        }),
      },
      {
        id: 'rnn-long-exploding-contractive-init',
        title: 'Orthogonal initialization with gain 0.98, and train 500 steps',
        mitigation:
          'init orthogonal (gain 0.98): λ₁ < 1, so products of W_hh no longer grow (0.98^99 ≈ 0.14). Plain SGD at ' +
          '0.01 is near this net’s stability limit (0.02 overflows), so it fits slowly: 500 steps instead of 100.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(rnnExploding, {
          training: { ...rnnTraining, steps: 500 },
          network: {
            kind: 'rnn',
            hidden: 8,
            seqLength: 100,
            activation: 'identity',
            init: { scheme: 'orthogonal', gain: 0.98 },
          },
        }),
      },
    ],
  },
  {
    id: 'rnn-long-vanishing',
    title: 'Vanishing gradients through time: tanh rnn over 100 steps, λ₁ = 0.8',
    phenomenon: 'vanishing',
    expectedOutcome: 'vanishing',
    expectedGradients: 'vanishing',
    expectedTraining: 'improving',
    description:
      'A tanh rnn with W_hh = 0.8·Q over T = 100 steps, on a task whose target depends on the first input only. ' +
      'λ₁ = 0.8 < 1/γ = 1 is sufficient for vanishing (Pascanu et al. 2013): ‖∂L/∂h_1‖ ≤ 0.8^99 ≈ 2.5e-10 × ' +
      '‖∂L/∂h_T‖, so the first input, the one that matters, gets no gradient.',
    spec: rnnVanishing,
    mitigated: [
      {
        id: 'rnn-long-vanishing-linear-orthogonal',
        title: 'Norm-preserving recurrence (identity activation, orthogonal W_hh) with clipping',
        mitigation:
          'activation identity and init orthogonal (gain 1): W_hh preserves norms, so the gradient reaches h_1 ' +
          'undiminished; clip-norm 1.0 keeps the resulting large early steps in check (without it the run ' +
          'overflows, even at rate 0.01). With every step bounded, a rate of 0.03 is safe, and 300 steps fit.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(rnnVanishing, {
          training: { ...rnnTraining, steps: 300, learningRate: 0.03 },
          network: {
            kind: 'rnn',
            hidden: 8,
            seqLength: 100,
            activation: 'identity',
            init: { scheme: 'orthogonal', gain: 1 },
          },
          mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
        }),
      },
      {
        id: 'rnn-long-vanishing-adam',
        title: 'Adam instead of SGD',
        mitigation:
          'optimizer adam: per-parameter steps normalized by the gradient’s RMS, so W_xh still learns from its tiny ' +
          'gradient. The gradient itself still vanishes; this treats the symptom.',
        expectedOutcome: 'converged',
        expectedGradients: 'vanishing',
        expectedTraining: 'converged',
        spec: variant(rnnVanishing, { training: { ...rnnTraining, optimizer: 'adam' } }),
      },
    ],
  },
  {
    id: 'mlp-relu-exploding',
    title: 'Exploding gradients: 20 relu layers with twice He’s gain',
    phenomenon: 'exploding',
    expectedOutcome: 'nonfinite',
    expectedGradients: 'exploding',
    expectedTraining: 'nonfinite',
    description:
      'He initialization keeps relu activations at constant scale with σ_w² = 2; gain 2 makes σ_w² = 8, so ' +
      'χ₁ = σ_w²/2 = 4 and gradient norms double per layer (Schoenholz et al. 2017): the backward gain over 20 layers ' +
      'is ~10^5, the first loss ~10^12, and the run is non-finite at step 2.',
    spec: reluExploding,
    mitigated: [
      {
        id: 'mlp-relu-exploding-batch-norm',
        title: 'Batch normalization',
        mitigation:
          'batch-norm: every pre-activation is standardized over the batch, so the forward signal cannot grow layer ' +
          'over layer and the backward pass divides by the same scale.',
        expectedOutcome: 'converged',
        expectedGradients: 'exploding',
        expectedTraining: 'converged',
        spec: variant(reluExploding, { mitigations: [{ kind: 'batch-norm' }] }),
      },
      {
        id: 'mlp-relu-exploding-he',
        title: 'He initialization (gain 1), and train 300 steps',
        mitigation:
          'init he (gain 1): σ_w² = 2, χ₁ = 1, the critical point for relu (He et al. 2015). Gradients neither ' +
          'explode nor vanish, but 20 layers at rate 0.01 sit on a plateau for ~100 steps before the loss falls: ' +
          '300 steps instead of 100.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(reluExploding, {
          training: { ...mlpTraining, steps: 300 },
          network: deepMlp('relu', { scheme: 'he', gain: 1 }),
        }),
      },
    ],
  },
  {
    id: 'mlp-tanh-vanishing',
    title: 'Vanishing gradients: 20 tanh layers with half Xavier’s gain',
    phenomenon: 'vanishing',
    expectedOutcome: 'vanishing',
    expectedGradients: 'vanishing',
    expectedTraining: 'stalled',
    description:
      'Xavier gain 0.5 gives σ_w² = 0.25: in the ordered phase, χ₁ = σ_w² = 0.25 at σ_b = 0, so gradient norms halve ' +
      'per layer (depth scale −1/ln χ₁ ≈ 0.7 layers) and the first layers barely learn.',
    spec: tanhVanishing,
    mitigated: [
      {
        id: 'mlp-tanh-vanishing-batch-norm',
        title: 'Batch normalization',
        mitigation:
          'batch-norm: standardized pre-activations keep tanh in its linear range and restore the gradient scale.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(tanhVanishing, { mitigations: [{ kind: 'batch-norm' }] }),
      },
      {
        id: 'mlp-tanh-vanishing-xavier',
        title: 'Xavier initialization (gain 1)',
        mitigation:
          'init xavier (gain 1): σ_w² = 1, χ₁ = 1, the order-to-chaos boundary where gradients neither vanish nor explode.',
        expectedOutcome: 'converged',
        expectedGradients: 'healthy',
        expectedTraining: 'converged',
        spec: variant(tanhVanishing, { network: deepMlp('tanh', { scheme: 'xavier', gain: 1 }) }),
      },
    ],
  },
];

/** The catalogue, each variant's spec named after its preset and its mitigation. */
export const presets: Preset[] = catalogue.map((p) => ({
  ...p,
  mitigated: p.mitigated.map((m) => ({ ...m, spec: { ...m.spec, name: `${p.spec.name}; ${m.title.toLowerCase()}` } })),
}));
