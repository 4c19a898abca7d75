/**
 * Sweeps: a base job spec and up to three axes, one job per cell of their cartesian product. Every
 * cell keeps the base seed (common random numbers: the same initial weights, data and minibatches
 * wherever the axes do not change their shape), so differences between cells come from the axes,
 * not from the noise — unless an axis varies `seed` itself.
 */
import { z } from 'zod';
import { JobStatus, Num, Outcome } from './events.js';
import { JobSpec, wellFormed } from './spec.js';

/** Ceilings a sweep request may not exceed (the service may configure lower ones). */
export const SWEEP_LIMITS = {
  axes: 3,
  valuesPerAxis: 10_000,
  /** Default cell budget: cells = product of the axes' lengths. */
  cells: 10_000,
  /** Default work budget: the sum over cells of the engine's `estimateWork(spec).flops`. */
  workFlops: 2e13,
  /** Default bound on the JSON bytes of all cells' specs together (explicit weights × many cells). */
  specBytes: 64 * 2 ** 20,
  pathLength: 200,
  labelLength: 100,
  nameLength: 200,
} as const;

export const SweepAxis = z
  .object({
    path: z
      .string()
      .min(1)
      .max(SWEEP_LIMITS.pathLength)
      .regex(/^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$/, 'a dotted field path such as "network.init.gain"')
      .describe(
        'Dotted path of a job-spec field, e.g. "network.init.gain", "network.depth", "mitigations", "mitigations.0.maxNorm" (numbers index arrays). It must exist in the job-spec schema.',
      ),
    values: z
      .array(z.unknown())
      .min(1)
      .max(SWEEP_LIMITS.valuesPerAxis)
      .describe('The values the field takes along this axis (any JSON the field accepts).'),
    labels: z
      .array(wellFormed(z.string().max(SWEEP_LIMITS.labelLength)))
      .optional()
      .describe('Optional display names for the values (same length), used in the CSV instead of the JSON value.'),
  })
  .strict()
  .meta({ id: 'SweepAxis' });
export type SweepAxis = z.output<typeof SweepAxis>;

export const SweepRequest = z
  .object({
    name: wellFormed(z.string().max(SWEEP_LIMITS.nameLength)).optional(),
    base: JobSpec.describe('The base job spec every cell starts from (its seed is every cell’s seed).'),
    axes: z.array(SweepAxis).min(1).max(SWEEP_LIMITS.axes),
    keep: z
      .enum(['summary', 'series'])
      .default('summary')
      .describe(
        'What each cell stores. summary (default): its summary and a compact trace; its full series is recomputed (exactly: the engine is deterministic) when GET /v1/jobs/{cellId}/result or its event stream asks for it. series: every cell stores its full series, as a job does.',
      ),
  })
  .strict()
  .meta({ id: 'SweepRequest' });
export type SweepRequestInput = z.input<typeof SweepRequest>;
export type SweepRequest = z.output<typeof SweepRequest>;

/** A cell not yet handed to the job service is `pending`; afterwards it has its job's status. */
export const CellStatus = z.enum(['pending', ...JobStatus.options]).meta({ id: 'SweepCellStatus' });
export type CellStatus = z.output<typeof CellStatus>;

export const CellPrediction = z
  .object({
    layerGradFactor: Num.nullable().describe('Scaled-identity linear nets: gain^(L−1), the predicted backwardGain.'),
    chi1: Num.nullable().describe('mlp with a random init: mean-field χ₁ (Schoenholz et al. 2017).'),
    depthScale: Num.nullable().describe('mlp: ξ = −1/ln χ₁ ("Infinity" at χ₁ = 1).'),
    lambda1: Num.nullable().describe('rnn: the largest singular value λ₁ of W_hh at initialization.'),
    backwardGainBound: Num.nullable().describe(
      'rnn: λ₁^(T−1), the bound on ‖∂h_T/∂h_1‖ (exact for an identity-activation rnn with W_hh = λ·orthogonal).',
    ),
  })
  .meta({ id: 'SweepCellPrediction' });
export type CellPrediction = z.output<typeof CellPrediction>;

export const CellTrace = z
  .object({
    steps: z.array(z.int()),
    loss: z.array(Num),
    gradNorm: z.array(Num),
  })
  .describe(
    'At most 64 recorded steps of loss and global gradient norm, evenly spaced, always including the first, the last and the first non-finite step (for small multiples). Present on cells kept as summaries.',
  )
  .meta({ id: 'SweepCellTrace' });
export type CellTrace = z.output<typeof CellTrace>;

export const SweepCell = z
  .object({
    index: z.int().nonnegative().describe('Row-major index: the last axis varies fastest.'),
    coords: z.array(z.unknown()).describe('This cell’s value on each axis, in axis order.'),
    jobId: z.string().nullable(),
    status: CellStatus,
    outcome: Outcome.nullable(),
    firstNonFiniteStep: z.int().nullable(),
    firstLoss: Num.nullable(),
    finalLoss: Num.nullable(),
    maxGradNorm: Num.nullable(),
    layerGradRatio: Num.nullable(),
    backwardGain: Num.nullable(),
    predicted: CellPrediction,
    trace: CellTrace.nullable(),
  })
  .meta({ id: 'SweepCell' });
export type SweepCell = z.output<typeof SweepCell>;

export const SweepStatus = z.enum(['running', 'succeeded', 'cancelled']).meta({ id: 'SweepStatus' });
export type SweepStatus = z.output<typeof SweepStatus>;

export const TheoryLine = z
  .object({
    path: z.string().describe('The axis the line is drawn on.'),
    value: z.number().describe('Where on that axis the theory puts the boundary.'),
    label: z.string(),
    description: z.string(),
  })
  .meta({ id: 'SweepTheoryLine' });
export type TheoryLine = z.output<typeof TheoryLine>;

export const SweepProgress = z
  .object({
    total: z.int(),
    done: z.int().describe('Cells that have ended (succeeded, failed or cancelled).'),
    byStatus: z.object({
      pending: z.int(),
      queued: z.int(),
      running: z.int(),
      succeeded: z.int(),
      failed: z.int(),
      cancelled: z.int(),
    }),
  })
  .meta({ id: 'SweepProgress' });
export type SweepProgress = z.output<typeof SweepProgress>;

export const Sweep = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    status: SweepStatus,
    createdAt: z.string(),
    endedAt: z.string().nullable(),
    seed: z.int().describe('The base seed, shared by every cell (common random numbers).'),
    base: JobSpec,
    axes: z.array(SweepAxis),
    keep: z.enum(['summary', 'series']).describe('What each cell stores (see SweepRequest.keep).'),
    shape: z.array(z.int()).describe('Number of values per axis; cells are laid out row-major.'),
    theory: z.array(TheoryLine).describe('Boundaries the theory predicts on the axes (e.g. the χ₁ = 1 line).'),
    progress: SweepProgress,
    error: z.string().nullable().describe('Why cells could not be submitted, if that happened.'),
  })
  .meta({ id: 'Sweep' });
export type Sweep = z.output<typeof Sweep>;

export const SweepLinks = z
  .object({ self: z.string(), csv: z.string(), stream: z.string(), events: z.string() })
  .meta({ id: 'SweepLinks' });

/** What POST /v1/sweeps and DELETE /v1/sweeps/:id answer: the sweep without its grid, and its links. */
export const SweepWithLinks = Sweep.extend({ links: SweepLinks }).meta({ id: 'SweepWithLinks' });
export type SweepWithLinks = z.output<typeof SweepWithLinks>;

export const SweepResource = Sweep.extend({ cells: z.array(SweepCell), links: SweepLinks }).meta({
  id: 'SweepResource',
});
export type SweepResource = z.output<typeof SweepResource>;

export const CellEvent = z
  .object({ type: z.literal('cell'), seq: z.int().nonnegative(), cell: SweepCell })
  .meta({ id: 'SweepCellEvent' });
export const SweepDoneEvent = z
  .object({ type: z.literal('done'), seq: z.int().nonnegative(), status: SweepStatus, progress: SweepProgress })
  .meta({ id: 'SweepDoneEvent' });
export const SweepEvent = z.discriminatedUnion('type', [CellEvent, SweepDoneEvent]).meta({ id: 'SweepEvent' });
export type CellEvent = z.output<typeof CellEvent>;
export type SweepDoneEvent = z.output<typeof SweepDoneEvent>;
export type SweepEvent = z.output<typeof SweepEvent>;

export const SweepParams = z.object({ id: z.string().min(1).max(64) }).strict();
export const SweepQuery = z
  .object({ format: z.enum(['json', 'csv']).default('json').describe('csv: one row per cell, for pandas.read_csv.') })
  .strict();
export const SweepList = z.object({ items: z.array(SweepWithLinks) }).meta({ id: 'SweepList' });
export const SweepListQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }).strict();

export const SweepPreset = z
  .object({
    id: z.string(),
    title: z.string(),
    source: z.string().describe('The paper or textbook result the sweep reproduces.'),
    finding: z.string().describe('What the grid shows, stated so a test can check it.'),
    request: SweepRequest,
  })
  .meta({ id: 'SweepPreset' });
export type SweepPreset = z.output<typeof SweepPreset>;
export type SweepPresetInput = z.input<typeof SweepPreset>;

export const SweepPresetList = z.object({ items: z.array(SweepPreset) }).meta({ id: 'SweepPresetList' });
