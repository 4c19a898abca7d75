/**
 * What the engine reports: step telemetry, the first non-finite value, the run summary, and the
 * columnar result. JSON cannot carry NaN or ±Infinity, so every telemetry number travels as a
 * `Num`: a finite number, or one of the strings "NaN", "Infinity", "-Infinity".
 */
import { z } from 'zod';

export const NonFiniteString = z.enum(['NaN', 'Infinity', '-Infinity']);
export const Num = z.union([z.number(), NonFiniteString]).meta({
  id: 'Num',
  description: 'A number; non-finite values travel as the strings "NaN", "Infinity", "-Infinity".',
});
export type Num = z.output<typeof Num>;

// The zod-free helpers live in ./num.ts (the engine imports them from there, never from here).
export { decodeNum, encodeNum } from './num.js';

export const Outcome = z.enum(['exploding', 'vanishing', 'nonfinite', 'diverged', 'converged', 'stable']).meta({
  id: 'Outcome',
  description:
    'One label that mixes what the gradients did with what training achieved (Summary.outcome, deprecated: read Summary.gradients.verdict and Summary.training.verdict; docs/verdicts.md).',
});
export type Outcome = z.output<typeof Outcome>;

export const GradientVerdict = z.enum(['exploding', 'vanishing', 'healthy']).meta({
  id: 'GradientVerdict',
  description:
    'What the gradients did: exploding (backward gain ≥ 10 at step 1, or the global gradient norm grew ≥ 100× over the run), vanishing (backward gain ≤ 0.1), else healthy. docs/verdicts.md.',
});
export type GradientVerdict = z.output<typeof GradientVerdict>;

export const TrainingVerdict = z.enum(['converged', 'improving', 'stalled', 'diverged', 'nonfinite']).meta({
  id: 'TrainingVerdict',
  description:
    'What training achieved: nonfinite (a NaN or ±Infinity was seen), diverged (final loss > 10× the first), converged (final loss ≤ 0.1× the first and ≤ 0.5× the baseline loss), improving (the loss fell by more than 1 % over the last quarter of the steps run), else stalled. docs/verdicts.md.',
});
export type TrainingVerdict = z.output<typeof TrainingVerdict>;

export const GradientsSummary = z
  .object({
    verdict: GradientVerdict,
    backwardGain: Num.nullable().describe(
      'At step 1, ‖∂L/∂z_1‖/‖∂L/∂z_L‖ (linear, mlp; z = pre-activation) or ‖∂L/∂h_1‖/‖∂L/∂h_T‖ (rnn); null when no step ran.',
    ),
    normGrowth: Num.nullable().describe(
      'The global gradient norm (before clipping) at the last recorded step where it is finite, divided by its value at step 1; null when the step-1 norm is zero or non-finite.',
    ),
  })
  .meta({ id: 'GradientsSummary' });

export const TrainingSummary = z
  .object({
    verdict: TrainingVerdict,
    lossRatio: Num.nullable().describe('finalLoss / firstLoss (recorded losses); null when no step ran.'),
  })
  .meta({ id: 'TrainingSummary' });

export const ClippingSummary = z
  .object({
    stepsClipped: z
      .int()
      .nonnegative()
      .describe('Steps (of all steps run, recorded or not) where clipping reduced the global gradient norm.'),
    fraction: Num.describe('stepsClipped / stepsRun.'),
    maxFactor: Num.describe('The largest ‖g‖/‖g_clipped‖ over those steps (1 when clipping never acted).'),
  })
  .meta({ id: 'ClippingSummary' });

export const MitigationSummary = z
  .object({
    clipping: ClippingSummary.nullable().describe('null when the spec has no clip-norm or clip-value mitigation.'),
  })
  .meta({ id: 'MitigationSummary' });

export const TensorKind = z.enum(['loss', 'activation', 'gradient', 'weight', 'norm']);
export type TensorKind = z.output<typeof TensorKind>;

export const NonFiniteInfo = z
  .object({
    step: z.int(),
    where: z.string().describe('Human-readable place, e.g. "gradient of W3", "loss", "norm: global gradient norm".'),
    tensor: TensorKind,
    layer: z.string().nullable().describe('Layer name (W1…WL; W_xh, W_hh, W_hy) or null for the loss.'),
    value: Num.describe('The offending value.'),
  })
  .meta({ id: 'NonFiniteInfo' });
export type NonFiniteInfo = z.output<typeof NonFiniteInfo>;

export const Summary = z
  .object({
    outcome: Outcome.meta({
      deprecated: true,
      description:
        'Deprecated (kept for old clients, rule unchanged): read gradients.verdict and training.verdict instead.',
    }),
    gradients: GradientsSummary,
    training: TrainingSummary,
    mitigation: MitigationSummary,
    stepsRun: z.int(),
    stopped: z.boolean().describe('True when the run was stopped before its last step (cancel or non-finite).'),
    firstNonFiniteStep: z.int().nullable(),
    nonFinite: NonFiniteInfo.nullable(),
    maxGradNorm: Num,
    minGradNorm: Num,
    firstLoss: Num,
    finalLoss: Num,
    baselineLoss: Num.describe(
      'The loss of predicting each target’s mean (the targets’ variance, averaged over outputs): a fit must beat it to count as converged.',
    ),
    layerGradRatio: Num.nullable().describe('‖∂L/∂W_first‖ / ‖∂L/∂W_last‖ at step 1.'),
    backwardGain: Num.nullable().describe(
      'At step 1, how much the backward signal grew from the output to the first layer: ‖∂L/∂z_1‖/‖∂L/∂z_L‖ (linear, mlp; z = pre-activation) or ‖∂L/∂h_1‖/‖∂L/∂h_T‖ (rnn).',
    ),
    predictedForwardGain: Num.nullable().describe('Scaled-identity linear nets: gain^L.'),
    predictedLayerGradFactor: Num.nullable().describe('Scaled-identity linear nets: gain^(L−1).'),
  })
  .meta({ id: 'Summary' });
export type Summary = z.output<typeof Summary>;

const backwardNormDescription =
  'The backward signal reaching the layer: ‖∂L/∂z_l‖ over the batch, z_l = the layer’s pre-activation (before batch-norm). linear and mlp nets only (an rnn reports hiddenGradNorms); absent in results stored before it existed.';

export const LayerTelemetry = z
  .object({
    gradNorm: Num,
    weightNorm: Num,
    updateRatio: Num,
    backwardNorm: Num.optional().describe(backwardNormDescription),
  })
  .meta({ id: 'LayerTelemetry' });

export const StepEvent = z
  .object({
    type: z.literal('step'),
    seq: z.int().nonnegative(),
    step: z.int().positive(),
    loss: Num,
    gradNorm: Num,
    clippedGradNorm: Num,
    lr: Num,
    paramNorm: Num,
    layers: z.array(LayerTelemetry),
    hiddenGradNorms: z.array(Num).optional(),
  })
  .meta({ id: 'StepEvent' });

export const NonFiniteEvent = z
  .object({ type: z.literal('nonfinite'), seq: z.int().nonnegative() })
  .extend(NonFiniteInfo.shape)
  .meta({ id: 'NonFiniteEvent' });

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).meta({ id: 'JobStatus' });
export type JobStatus = z.output<typeof JobStatus>;
export const EndStatus = z.enum(['succeeded', 'failed', 'cancelled']);
export type EndStatus = z.output<typeof EndStatus>;

export const DoneEvent = z
  .object({
    type: z.literal('done'),
    seq: z.int().nonnegative(),
    status: EndStatus,
    summary: Summary.nullable(),
    error: z.string().optional().describe('Why the job failed (status failed).'),
  })
  .meta({ id: 'DoneEvent' });

export const JobEvent = z.discriminatedUnion('type', [StepEvent, NonFiniteEvent, DoneEvent]).meta({ id: 'JobEvent' });
export type StepEvent = z.output<typeof StepEvent>;
export type NonFiniteEvent = z.output<typeof NonFiniteEvent>;
export type DoneEvent = z.output<typeof DoneEvent>;
export type JobEvent = z.output<typeof JobEvent>;

export const LayerSeries = z
  .object({
    name: z.string(),
    gradNorm: z.array(Num),
    weightNorm: z.array(Num),
    updateRatio: z.array(Num),
    backwardNorm: z.array(Num).optional().describe(backwardNormDescription),
  })
  .meta({ id: 'LayerSeries' });

/** The columnar series: one array entry per recorded step. */
export const Series = z
  .object({
    steps: z.array(z.int()),
    loss: z.array(Num),
    gradNorm: z.array(Num),
    clippedGradNorm: z.array(Num),
    lr: z.array(Num),
    paramNorm: z.array(Num),
    layers: z.array(LayerSeries),
    hiddenGradNorms: z.array(z.array(Num)).optional(),
  })
  .meta({ id: 'Series' });
export type SeriesJson = z.output<typeof Series>;
