/**
 * Turning a sweep request into cells: validation of the axes against the job-spec schema, the
 * row-major cartesian product, and the cell and work budgets. Pure: no I/O, no clock.
 */
import { JobSpec } from '../../contract/spec.js';
import { SWEEP_LIMITS, type SweepRequest } from '../../contract/sweep.js';
import { checkSpec, estimateWork } from '../../engine/index.js';
import { errors, type FieldError } from '../../errors.js';

export interface SweepBudget {
  /** Most cells a sweep may have (default SWEEP_LIMITS.cells). */
  maxCells?: number;
  /** Most summed `estimateWork(spec).flops` over all cells (default SWEEP_LIMITS.workFlops). */
  maxWorkFlops?: number;
  /** Most flops for any one cell (the job service's own per-job budget), or no check. */
  maxCellFlops?: number;
  /** Most JSON bytes of all cell specs together (default SWEEP_LIMITS.specBytes): bounds parsing and storage. */
  maxSpecBytes?: number;
}

export interface ExpandedSweep {
  shape: number[];
  total: number;
  totalFlops: number;
}

/** Keys that would reach an object's prototype when used as a path segment. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);
/** Enough to fix a request; a 10,000-cell grid with a bad axis would otherwise list every cell. */
const MAX_REPORTED = 20;

export function pathSegments(path: string): (string | number)[] {
  return path.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Shape of the grid: number of values per axis. */
export function gridShape(request: Pick<SweepRequest, 'axes'>): number[] {
  return request.axes.map((a) => a.values.length);
}

/** Row-major coordinates (value indices per axis, the last axis fastest) of cell `index`. */
export function cellCoordinates(shape: readonly number[], index: number): number[] {
  const out = new Array<number>(shape.length);
  let rest = index;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = rest % shape[i];
    rest = Math.floor(rest / shape[i]);
  }
  return out;
}

/** The values of cell `index` on each axis. */
export function cellValues(request: Pick<SweepRequest, 'axes'>, index: number): unknown[] {
  const coords = cellCoordinates(gridShape(request), index);
  return coords.map((j, i) => request.axes[i].values[j]);
}

/**
 * Copies `target` along `path` only (the rest is shared, so a base spec with large explicit
 * weights is not copied once per cell) and sets the field. Returns an error message instead when
 * the path runs through a field the base spec does not have.
 */
function setAt(target: unknown, segments: (string | number)[], value: unknown): { value: unknown } | { error: string } {
  const [head, ...rest] = segments;
  if (typeof head === 'string' && FORBIDDEN_SEGMENTS.has(head)) return { error: `"${head}" is not a field` };
  if (Array.isArray(target)) {
    if (typeof head !== 'number') return { error: `"${head}" indexes an array; use a number` };
    if (head >= target.length) return { error: `index ${head} is past the end (length ${target.length})` };
    const copy = target.slice();
    if (rest.length === 0) copy[head] = value;
    else {
      const inner = setAt(target[head], rest, value);
      if ('error' in inner) return inner;
      copy[head] = inner.value;
    }
    return { value: copy };
  }
  if (target === null || typeof target !== 'object')
    return { error: `"${head}" is inside a value that is not an object` };
  const key = String(head);
  const copy: Record<string, unknown> = { ...(target as Record<string, unknown>) };
  if (rest.length === 0) copy[key] = value;
  else {
    if (!Object.hasOwn(copy, key)) return { error: `the base spec has no "${key}" here` };
    const inner = setAt(copy[key], rest, value);
    if ('error' in inner) return inner;
    copy[key] = inner.value;
  }
  return { value: copy };
}

function isPrefix(prefix: readonly PropertyKey[], path: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => String(s) === String(path[i]));
}

/** A value as it appears in messages: JSON, cut short (values may be whole weight matrices). */
export function short(value: unknown, max = 60): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function describeCell(request: SweepRequest, index: number): string {
  const values = cellValues(request, index)
    .map((v, i) => `${request.axes[i].path}=${short(v)}`)
    .join(', ');
  return `cell ${index} (${values})`;
}

function fmtBytes(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

function invalid(summary: string, list: FieldError[]): Error {
  return new errors.SWEEP_INVALID(list, summary);
}

/**
 * Arrays of the base at least this many numbers large are not parsed again per cell (see
 * frozenArrays): explicit weights or data of ~1 MB took 60–130 ms of zod per cell (issue 11).
 */
const FROZEN_MIN_NUMBERS = 256;

interface FrozenArray {
  path: (string | number)[];
  value: unknown[];
  /** The same nesting depth with one number: what zod sees in its place. */
  probe: unknown[];
}

const frozenCache = new WeakMap<SweepRequest, FrozenArray[]>();

/** Numbers in a nested array, counting stops past `limit`. */
function countNumbers(x: unknown, limit: number): number {
  if (!Array.isArray(x)) return 1;
  let n = 0;
  for (const v of x) {
    n += countNumbers(v, limit - n);
    if (n >= limit) return n;
  }
  return n;
}

function probeOf(x: unknown[]): unknown[] {
  return Array.isArray(x[0]) ? [probeOf(x[0] as unknown[])] : [0];
}

/**
 * The large arrays of the base (explicit weights, explicit data) that no axis touches. The base is
 * a parsed JobSpec and cells share these arrays with it untouched (setAt copies only along the axis
 * paths), so they are valid already: each cell is parsed with a one-number stand-in of the same
 * nesting in their place, and the originals are put back into the parsed spec. The spec schema
 * only types the elements of these arrays (their shapes are checkSpec's, which still sees the
 * originals); should a stand-in ever be refused, the cell is parsed in full instead.
 */
function frozenArrays(request: SweepRequest): FrozenArray[] {
  const cached = frozenCache.get(request);
  if (cached) return cached;
  const axes = request.axes.map((a) => pathSegments(a.path));
  const out: FrozenArray[] = [];
  const walk = (x: unknown, path: (string | number)[]) => {
    if (axes.some((a) => isPrefix(a, path))) return;
    if (Array.isArray(x)) {
      if (x.length > 0 && countNumbers(x, FROZEN_MIN_NUMBERS) >= FROZEN_MIN_NUMBERS) {
        out.push({ path, value: x, probe: probeOf(x) });
      }
      return;
    }
    if (x === null || typeof x !== 'object') return;
    for (const [k, v] of Object.entries(x)) walk(v, [...path, k]);
  };
  walk(request.base, []);
  // An axis inside a frozen array (e.g. one weight) leaves that array to the full parse.
  const frozen = out.filter((f) => !axes.some((a) => isPrefix(f.path, a)));
  frozenCache.set(request, frozen);
  return frozen;
}

function putBack(spec: unknown, frozen: readonly FrozenArray[]): void {
  for (const f of frozen) {
    let at = spec as Record<string | number, unknown>;
    for (const seg of f.path.slice(0, -1)) at = at[seg] as Record<string | number, unknown>;
    at[f.path.at(-1) as string | number] = f.value;
  }
}

/** JobSpec.safeParse of a cell, with the base's large untouched arrays parsed once, not per cell. */
function parseCell(request: SweepRequest, spec: unknown): ReturnType<typeof JobSpec.safeParse> {
  const frozen = frozenArrays(request);
  if (frozen.length > 0) {
    let probed: unknown = spec;
    for (const f of frozen) {
      const set = setAt(probed, f.path, f.probe);
      if ('error' in set) return JobSpec.safeParse(spec);
      probed = set.value;
    }
    const parsed = JobSpec.safeParse(probed);
    if (parsed.success) {
      putBack(parsed.data, frozen);
      return parsed;
    }
  }
  return JobSpec.safeParse(spec);
}

/** The parsed job spec of cell `index`, or the reasons it is refused. */
export function buildCell(
  request: SweepRequest,
  index: number,
): { spec: JobSpec } | { pathError: { axis: number; message: string } } | { issues: FieldError[] } {
  const coords = cellCoordinates(gridShape(request), index);
  let spec: unknown = request.base;
  for (let i = 0; i < request.axes.length; i++) {
    const axis = request.axes[i];
    const set = setAt(spec, pathSegments(axis.path), axis.values[coords[i]]);
    if ('error' in set) return { pathError: { axis: i, message: `${axis.path} does not exist: ${set.error}` } };
    spec = set.value;
  }
  const parsed = parseCell(request, spec);
  if (!parsed.success) {
    const issues: FieldError[] = [];
    for (const issue of parsed.error.issues) {
      // A strict object refusing the axis's last key means the path names no field of the schema.
      if (issue.code === 'unrecognized_keys') {
        const axis = request.axes.findIndex((a) => {
          const segs = pathSegments(a.path);
          return isPrefix(issue.path, segs) && issue.path.length === segs.length - 1;
        });
        if (axis >= 0) {
          const last = pathSegments(request.axes[axis].path).at(-1);
          if (issue.keys.includes(String(last)))
            return {
              pathError: {
                axis,
                message: `${request.axes[axis].path} does not exist in the job-spec schema (no field "${String(last)}" there)`,
              },
            };
        }
      }
      issues.push({ path: issue.path.join('.'), message: issue.message });
    }
    return { issues };
  }
  const problems = checkSpec(parsed.data);
  if (problems.length > 0) return { issues: problems.map((p) => ({ path: p.path.join('.'), message: p.message })) };
  return { spec: parsed.data };
}

/** Where in the request a cell's problem at `fieldPath` comes from: an axis value, or the base. */
function attribute(request: SweepRequest, index: number, fieldPath: string): string {
  const coords = cellCoordinates(gridShape(request), index);
  const field = fieldPath === '' ? [] : fieldPath.split('.');
  for (let i = request.axes.length - 1; i >= 0; i--) {
    const axisPath = request.axes[i].path.split('.');
    if (isPrefix(axisPath, field) || isPrefix(field, axisPath)) return `axes.${i}.values.${coords[i]}`;
  }
  return fieldPath === '' ? 'base' : `base.${fieldPath}`;
}

/**
 * Validates every cell and the budgets. Throws GL_ERR_SWEEP_INVALID (422) carrying `errors`
 * ({path, message}, paths into the request such as "axes.1.values.3") when a path names no field,
 * a value is refused (the message names the cell and the field), or the grid is over the cell or
 * work budget. `onCell` sees every valid cell's spec as it is built (one parse per cell).
 */
export function expandSweep(
  request: SweepRequest,
  budget: SweepBudget = {},
  onCell?: (index: number, spec: JobSpec) => void,
): ExpandedSweep {
  const maxCells = budget.maxCells ?? SWEEP_LIMITS.cells;
  const maxWorkFlops = budget.maxWorkFlops ?? SWEEP_LIMITS.workFlops;
  const shape = gridShape(request);
  const total = shape.reduce((a, b) => a * b, 1);
  const labelErrors: FieldError[] = [];
  request.axes.forEach((axis, i) => {
    if (axis.labels && axis.labels.length !== axis.values.length)
      labelErrors.push({
        path: `axes.${i}.labels`,
        message: `${axis.labels.length} labels for ${axis.values.length} values`,
      });
    const seen = request.axes.findIndex((a) => a.path === axis.path);
    if (seen !== i) labelErrors.push({ path: `axes.${i}.path`, message: `${axis.path} is already axis ${seen}` });
  });
  if (labelErrors.length > 0) throw invalid(labelErrors[0].message, labelErrors);
  // Estimated before anything is parsed: every cell carries the base and one value per axis, and
  // value j of axis i sits in total / n_i cells.
  const maxSpecBytes = budget.maxSpecBytes ?? SWEEP_LIMITS.specBytes;
  let specBytes = total * JSON.stringify(request.base).length;
  request.axes.forEach((axis, i) => {
    for (const v of axis.values) specBytes += (JSON.stringify(v)?.length ?? 0) * (total / shape[i]);
  });
  if (total <= maxCells && specBytes > maxSpecBytes)
    throw invalid(`the cells' specs add up to ~${fmtBytes(specBytes)}; at most ${fmtBytes(maxSpecBytes)}`, [
      {
        path: 'axes',
        message: `${total} cells of ~${fmtBytes(specBytes / total)} each (~${fmtBytes(specBytes)} in all); at most ${fmtBytes(maxSpecBytes)}: use fewer cells or smaller explicit values`,
      },
    ]);
  if (total > maxCells)
    throw invalid(`${total} cells (${shape.join(' × ')}) is over the cell budget of ${maxCells}`, [
      { path: 'axes', message: `${total} cells (${shape.join(' × ')}); at most ${maxCells}` },
    ]);

  const found = new Map<string, FieldError>();
  const pathErrors = new Set<number>();
  let totalFlops = 0;
  let overCell: FieldError | null = null;
  for (let index = 0; index < total && found.size < MAX_REPORTED; index++) {
    const cell = buildCell(request, index);
    if ('pathError' in cell) {
      if (!pathErrors.has(cell.pathError.axis)) {
        pathErrors.add(cell.pathError.axis);
        found.set(`path ${cell.pathError.axis}`, {
          path: `axes.${cell.pathError.axis}.path`,
          message: cell.pathError.message,
        });
      }
      continue;
    }
    if ('issues' in cell) {
      for (const issue of cell.issues) {
        const where = attribute(request, index, issue.path);
        // One report per offending value and field, not one per cell that contains it.
        const key = `${where}|${issue.path}|${issue.message}`;
        if (!found.has(key))
          found.set(key, {
            path: where,
            message: `${describeCell(request, index)}: ${issue.path || '(spec)'}: ${issue.message}`,
          });
      }
      continue;
    }
    onCell?.(index, cell.spec);
    const flops = estimateWork(cell.spec).flops;
    if (budget.maxCellFlops !== undefined && flops > budget.maxCellFlops && overCell === null)
      overCell = {
        path: 'axes',
        message: `${describeCell(request, index)} needs ~${flops.toExponential(2)} flops; one job may use at most ${budget.maxCellFlops.toExponential(2)}`,
      };
    totalFlops += flops;
  }
  if (found.size > 0) {
    const list = [...found.values()];
    throw invalid(list[0].message + (list.length > 1 ? ` (and ${list.length - 1} more)` : ''), list);
  }
  if (overCell) throw invalid(overCell.message, [overCell]);
  if (totalFlops > maxWorkFlops)
    throw invalid(
      `the grid needs ~${totalFlops.toExponential(2)} flops in all; the work budget is ${maxWorkFlops.toExponential(2)}`,
      [
        {
          path: 'axes',
          message: `~${totalFlops.toExponential(2)} flops summed over ${total} cells; at most ${maxWorkFlops.toExponential(2)}`,
        },
      ],
    );
  return { shape, total, totalFlops };
}

/** The job spec of cell `index` of a request that passed `expandSweep`. */
export function cellSpec(request: SweepRequest, index: number): JobSpec {
  const cell = buildCell(request, index);
  if (!('spec' in cell)) throw new Error(`cell ${index} of a validated sweep does not build`);
  return cell.spec;
}
