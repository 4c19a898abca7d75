/**
 * The sweep's grid: one row per cell, its progress counts, and the CSV form for pandas.
 */
import type { Num } from '../../contract/events.js';
import type { CellPrediction, CellStatus, Sweep, SweepAxis, SweepCell, SweepProgress } from '../../contract/sweep.js';
import type { JobRecord } from '../types.js';

export const CELL_STATUSES: readonly CellStatus[] = [
  'pending',
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
] as const;

export function isEnded(status: CellStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

export function pendingCell(index: number, coords: unknown[], predicted: CellPrediction): SweepCell {
  return {
    index,
    coords,
    jobId: null,
    status: 'pending',
    outcome: null,
    firstNonFiniteStep: null,
    firstLoss: null,
    finalLoss: null,
    maxGradNorm: null,
    layerGradRatio: null,
    backwardGain: null,
    predicted,
    trace: null,
  };
}

/** The cell's row once its job is known: status, and the summary's figures when it has one. */
export function cellWithJob(
  cell: SweepCell,
  job: Pick<JobRecord, 'id' | 'status' | 'summary'> & { trace?: JobRecord['trace'] },
): SweepCell {
  const s = job.summary;
  return {
    ...cell,
    jobId: job.id,
    status: job.status,
    outcome: s?.outcome ?? null,
    firstNonFiniteStep: s?.firstNonFiniteStep ?? null,
    firstLoss: s?.firstLoss ?? null,
    finalLoss: s?.finalLoss ?? null,
    maxGradNorm: s?.maxGradNorm ?? null,
    layerGradRatio: s?.layerGradRatio ?? null,
    backwardGain: s?.backwardGain ?? null,
    trace: job.trace ?? cell.trace ?? null,
  };
}

export function emptyCounts(): Record<CellStatus, number> {
  return { pending: 0, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
}

export function progressOf(total: number, byStatus: Record<CellStatus, number>): SweepProgress {
  return { total, done: byStatus.succeeded + byStatus.failed + byStatus.cancelled, byStatus: { ...byStatus } };
}

/**
 * CSV number: JavaScript's shortest round-trip form (pandas reads "1e-07" and "57.6650390625" back
 * to the same double); non-finite values as "NaN", "Infinity", "-Infinity" like everywhere else in
 * the API — pandas.read_csv (checked with 1.5.3, C and python engines) parses them to float
 * NaN/±inf by default, as it does "inf"/"-inf"; a missing value (cell not run, no theory) is
 * empty, which pandas reads as NaN.
 */
function csvNum(x: Num | null): string {
  if (x === null) return '';
  if (typeof x === 'string') return x;
  return Number.isFinite(x) ? String(x) : Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

function csvText(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

/** An axis value as the field holds it: numbers stay numbers, anything structured is JSON text. */
function formatValue(value: unknown): string {
  if (typeof value === 'number') return csvNum(value);
  if (typeof value === 'string') return csvText(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return csvText(JSON.stringify(value));
}

/**
 * The CSV columns of an axis: its path, holding the value itself (a column named after a numeric
 * field holds numbers), then `<path>.label` when the axis has labels. Labels are matched by JSON,
 * since stored cells hold copies of the values.
 */
function coordFormatters(axis: SweepAxis): ((value: unknown) => string)[] {
  if (!axis.labels) return [formatValue];
  const labels = new Map<string, string>();
  for (const [j, v] of axis.values.entries()) labels.set(JSON.stringify(v), axis.labels[j]);
  return [formatValue, (value) => csvText(labels.get(JSON.stringify(value)) ?? '')];
}

export const CSV_COLUMNS = [
  'index',
  'jobId',
  'status',
  'outcome',
  'firstNonFiniteStep',
  'firstLoss',
  'finalLoss',
  'maxGradNorm',
  'layerGradRatio',
  'backwardGain',
  'predictedLayerGradFactor',
  'predictedChi1',
  'predictedDepthScale',
  'predictedLambda1',
  'predictedBackwardGainBound',
] as const;

/** Header line: the axis columns first (the path, then `<path>.label` for a labelled axis), then CSV_COLUMNS. */
export function csvHeader(sweep: Pick<Sweep, 'axes'>): string {
  return [
    ...sweep.axes.flatMap((a) => (a.labels ? [a.path, `${a.path}.label`] : [a.path])).map(csvText),
    ...CSV_COLUMNS,
  ].join(',');
}

function csvRow(coords: ((value: unknown) => string)[][], cell: SweepCell): string {
  const p = cell.predicted;
  return [
    ...coords.flatMap((formats, i) => formats.map((format) => format(cell.coords[i]))),
    String(cell.index),
    cell.jobId ?? '',
    cell.status,
    cell.outcome ?? '',
    cell.firstNonFiniteStep === null ? '' : String(cell.firstNonFiniteStep),
    csvNum(cell.firstLoss),
    csvNum(cell.finalLoss),
    csvNum(cell.maxGradNorm),
    csvNum(cell.layerGradRatio),
    csvNum(cell.backwardGain),
    csvNum(p.layerGradFactor),
    csvNum(p.chi1),
    csvNum(p.depthScale),
    csvNum(p.lambda1),
    csvNum(p.backwardGainBound),
  ].join(',');
}

/** The whole grid as CSV: a header and one row per cell in index order, each line ending in \n. */
export function toCsv(sweep: Pick<Sweep, 'axes'>, cells: Iterable<SweepCell>): string {
  const lines = [csvHeader(sweep)];
  const coords = sweep.axes.map(coordFormatters);
  for (const cell of cells) lines.push(csvRow(coords, cell));
  return `${lines.join('\n')}\n`;
}
