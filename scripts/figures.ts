/**
 * The numbers the README and the docs quote from runs, and the job-spec field table, produced here
 * rather than typed in. Every preset and mitigated variant is run through the engine (`simulate`,
 * as a worker runs it); the markdown files hold each figure between markers that this script
 * rewrites:
 *
 *   inline  <!--fig:textbook-exploding.gradients.backwardGain|sig:4-->38.44<!--/fig-->
 *   block   <!--gen:presets-table-->…<!--/gen-->   (whole generated tables)
 *
 * A key is `<preset or variant id>.<path into the run's summary>` (or `.stepsRun`, `.clipPercent`,
 * …, see `figureValues`); after `|` a format: `int`, `sig:N` (N significant digits), `sci:N`
 * (a·10ⁿ with N significant digits), `pct` (a fraction as a percent, as the dashboard writes it),
 * `str`.
 *
 * `npx tsx scripts/figures.ts` rewrites the files; `--check` only says what differs (exit 1).
 * test/docs/figures.test.ts runs the check, so a figure cannot drift from what the code produces.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { presets } from '../src/contract/presets.js';
import { JobSpec, type JobSpecInput } from '../src/contract/spec.js';
import { estimateWork, simulate } from '../src/engine/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The files whose figures this script owns. */
export const FIGURE_FILES = ['README.md', 'docs/presets.md', 'docs/verdicts.md'];

// ---------------------------------------------------------------- runs

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface RunFigures {
  id: string;
  title: string;
  spec: JobSpecInput;
  summary: Record<string, Json>;
  /** The global gradient norm at step 1 (the summary keeps only the extremes). */
  firstGradNorm: number;
}

function runOne(id: string, title: string, spec: JobSpecInput): RunFigures {
  const out = simulate(JobSpec.parse(spec));
  return {
    id,
    title,
    spec,
    summary: JSON.parse(JSON.stringify(out.summary)),
    firstGradNorm: out.series.length > 0 ? out.series.gradNorm[0]! : Number.NaN,
  };
}

function setPath(obj: Record<string, unknown>, keyPath: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(obj);
  const keys = keyPath.split('.');
  let cur = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) {
    cur[k] = typeof cur[k] === 'object' && cur[k] !== null ? cur[k] : {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys.at(-1)!] = value;
  return copy;
}

const variantCache = new Map<string, RunFigures>();

/**
 * A preset run with some fields changed, for the docs' "what if" figures: `id@path=json;path=json`
 * (e.g. `textbook-exploding-clip-norm@training.steps=200`).
 */
function runVariant(ref: string): RunFigures {
  const cached = variantCache.get(ref);
  if (cached) return cached;
  const [id, changes = ''] = ref.split('@');
  const base = runAll().get(id!);
  if (!base) throw new Error(`figure ${ref}: no preset or variant "${id}"`);
  let spec = base.spec as unknown as Record<string, unknown>;
  for (const change of changes.split(';').filter(Boolean)) {
    const eq = change.indexOf('=');
    spec = setPath(spec, change.slice(0, eq), JSON.parse(change.slice(eq + 1)));
  }
  const run = runOne(ref, base.title, spec as unknown as JobSpecInput);
  variantCache.set(ref, run);
  return run;
}

let cache: Map<string, RunFigures> | null = null;

/** Every preset and variant run once (deterministic: same spec, same bits). */
export function runAll(): Map<string, RunFigures> {
  if (cache) return cache;
  const out = new Map<string, RunFigures>();
  const run = (id: string, title: string, spec: JobSpecInput) => out.set(id, runOne(id, title, spec));
  for (const p of presets) {
    run(p.id, p.title, p.spec);
    for (const m of p.mitigated) run(m.id, m.title, m.spec);
  }
  cache = out;
  return out;
}

function at(obj: Json, keyPath: string): Json | undefined {
  let cur: Json | undefined = obj;
  for (const k of keyPath.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, Json>)[k];
  }
  return cur;
}

/**
 * A figure's raw value: a summary field, or one derived from it. Keys: `<id>.<field>`, or
 * `<id>@<changes>:<field>` for a changed run (see runVariant), or `all.maxEstimatedWork`.
 */
export function figureValue(key: string): Json {
  if (key === 'all.maxEstimatedWork') {
    return Math.max(...[...runAll().values()].map((r) => estimateWork(JobSpec.parse(r.spec)).flops));
  }
  const changed = key.includes('@');
  const split = changed ? key.lastIndexOf(':') : key.indexOf('.');
  const id = key.slice(0, split);
  const field = key.slice(split + 1);
  const run = changed ? runVariant(id) : runAll().get(id);
  if (!run) throw new Error(`figure ${key}: no preset or variant "${id}"`);
  const s = run.summary;
  const num = (x: Json | undefined) => (typeof x === 'number' ? x : Number(x));
  switch (field) {
    case 'clipPercent': {
      const clip = at(s, 'mitigation.clipping');
      if (!clip || typeof clip !== 'object') throw new Error(`figure ${key}: the run has no clipping`);
      return num(at(clip, 'fraction'));
    }
    case 'lossGrowth':
      return num(s['finalLoss']) / num(s['firstLoss']);
    case 'finalOverBaseline':
      return num(s['finalLoss']) / num(s['baselineLoss']);
    case 'steps':
      return JobSpec.parse(run.spec).training.steps;
    case 'firstGradNorm':
      return run.firstGradNorm;
    default: {
      const v = at(s, field);
      if (v === undefined) throw new Error(`figure ${key}: the summary has no "${field}"`);
      return v;
    }
  }
}

// ---------------------------------------------------------------- formats

const SUPERSCRIPT: Record<string, string> = {
  '-': '⁻',
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
};

function sig(x: number, digits: number): string {
  return String(Number(x.toPrecision(digits)));
}

function sci(x: number, digits: number): string {
  if (x === 0) return '0';
  const [mant, exp] = x.toExponential(digits - 1).split('e');
  const e = String(Number(exp));
  return `${String(Number(mant))}·10${[...e].map((c) => SUPERSCRIPT[c] ?? c).join('')}`;
}

/** "37 %", "0.4 %": as the dashboard writes a fraction (public/js/verdict.js). */
export function percent(fraction: number): string {
  const p = fraction * 100;
  if (p === 0 || p >= 10) return `${Math.round(p)} %`;
  return `${Number(p.toFixed(1))} %`;
}

export function formatFigure(value: Json, format = ''): string {
  if (value === null) return '–';
  if (typeof value === 'string' && format !== 'str') {
    if (value === 'Infinity') return '∞';
    if (value === '-Infinity') return '−∞';
    if (value === 'NaN') return 'NaN';
  }
  const [kind, arg] = format.split(':');
  const n = Number(arg ?? 3);
  if (typeof value === 'number') {
    switch (kind) {
      case 'int':
        return String(Math.round(value));
      case 'sig':
        return sig(value, n);
      case 'sci':
        return sci(value, n);
      case 'pct':
        return percent(value);
      case '':
      case undefined:
        return Math.abs(value) >= 1e5 || (value !== 0 && Math.abs(value) < 1e-3) ? sci(value, 3) : sig(value, 3);
      default:
        throw new Error(`unknown format ${format}`);
    }
  }
  return String(value);
}

// ---------------------------------------------------------------- generated blocks

function presetRows(): string {
  const head = [
    'preset / variant',
    'gradients',
    'training',
    'clipping acted on',
    'first non-finite step',
    'steps run',
    'loss: first → final',
    'baseline loss',
    'backward gain at step 1',
    '‖g‖ growth',
  ];
  const rows: string[][] = [];
  for (const run of runAll().values()) {
    const s = run.summary;
    const clip = at(s, 'mitigation.clipping');
    rows.push([
      run.id,
      formatFigure(at(s, 'gradients.verdict') ?? null),
      formatFigure(at(s, 'training.verdict') ?? null),
      clip && typeof clip === 'object' ? `${percent(Number(at(clip, 'fraction')))} of steps` : '–',
      formatFigure(s['firstNonFiniteStep'] ?? null),
      formatFigure(s['stepsRun'] ?? null, 'int'),
      `${formatFigure(s['firstLoss'] ?? null)} → ${formatFigure(s['finalLoss'] ?? null)}`,
      formatFigure(s['baselineLoss'] ?? null),
      formatFigure(at(s, 'gradients.backwardGain') ?? s['backwardGain'] ?? null),
      formatFigure(at(s, 'gradients.normGrowth') ?? null),
    ]);
  }
  return table(head, rows);
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length), 3));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

// The job-spec table is read from the schema's JSON Schema (input side: what a client may omit).
interface JS {
  type?: string;
  properties?: Record<string, JS>;
  required?: string[];
  oneOf?: JS[];
  anyOf?: JS[];
  items?: JS;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  description?: string;
}

/** A union branch a row belongs to: the discriminator, the values it covers, and all its values. */
interface When {
  tag: string;
  values: string[];
  all: string[];
}

interface FieldRow {
  path: string;
  when: When[];
  required: boolean | null;
  default: string;
  allowed: string;
  meaning: string;
}

function typeName(s: JS): string {
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return `(${variants.map(typeName).join(' or ')})`;
  if (s.type === 'array') return `${s.items ? typeName(s.items) : 'any'}[]`;
  return s.type ?? 'any';
}

function allowedText(s: JS): string {
  if (s.const !== undefined) return `\`${String(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(', ');
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return variants.map(allowedText).join(' or ');
  const big = (x: number) => (x >= 4294967295 ? '2³²−1' : x.toLocaleString('en-US'));
  switch (s.type) {
    case 'integer':
      if (s.minimum !== undefined && s.maximum !== undefined) return `integer ${big(s.minimum)}…${big(s.maximum)}`;
      return 'integer';
    case 'number': {
      const parts = [];
      if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
      if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
      if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
      return `number${parts.length > 0 ? ` ${parts.join(', ')}` : ''}`;
    }
    case 'string':
      return s.maxLength !== undefined ? `string, ≤ ${s.maxLength} characters` : 'string';
    case 'boolean':
      return 'boolean';
    case 'array':
      return `${typeName(s)}${s.maxItems !== undefined ? `, at most ${s.maxItems}` : ''}`;
    default:
      return s.type ?? '';
  }
}

function discriminator(options: JS[]): string | null {
  const first = options[0]?.properties;
  if (!first) return null;
  for (const [k, v] of Object.entries(first)) {
    if (v.const !== undefined && options.every((o) => o.properties?.[k]?.const !== undefined)) return k;
  }
  return null;
}

const fmtDefault = (s: JS) => (s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : '');

function collectFields(
  s: JS,
  prefix: string,
  when: When[],
  required: boolean | null,
  out: FieldRow[],
  skip = '',
): void {
  const variants = s.oneOf ?? s.anyOf;
  const tag = variants ? discriminator(variants) : null;
  if (variants && tag) {
    const all = variants.map((o) => String(o.properties![tag]!.const));
    out.push({
      path: prefix,
      when,
      required,
      default: fmtDefault(s),
      allowed: `object, by \`${tag}\``,
      meaning: s.description ?? '',
    });
    out.push({
      path: `${prefix}.${tag}`,
      when,
      required: true,
      default: '',
      allowed: all.map((v) => `\`${v}\``).join(', '),
      meaning: '',
    });
    variants.forEach((o, i) => {
      const branch = { ...o, default: undefined, description: undefined };
      collectFields(branch, prefix, [...when, { tag, values: [all[i]!], all }], required, out, tag);
    });
    return;
  }
  if (s.type !== 'object' || !s.properties) return;
  if (prefix && !skip) {
    out.push({ path: prefix, when, required, default: fmtDefault(s), allowed: 'object', meaning: s.description ?? '' });
  }
  for (const [k, v] of Object.entries(s.properties)) {
    if (k === skip) continue;
    const p = prefix ? `${prefix}.${k}` : k;
    const req = (s.required ?? []).includes(k) && v.default === undefined;
    const nested = (v.oneOf || v.anyOf) && discriminator(v.oneOf ?? v.anyOf ?? []);
    if (nested || (v.type === 'object' && v.properties)) {
      collectFields(v, p, when, req, out);
    } else if (v.type === 'array' && v.items && (discriminator(v.items.oneOf ?? []) || v.items.type === 'object')) {
      out.push({
        path: p,
        when,
        required: req,
        default: fmtDefault(v),
        allowed: `array${v.maxItems !== undefined ? `, at most ${v.maxItems}` : ''}`,
        meaning: v.description ?? '',
      });
      collectFields({ ...v.items, default: undefined }, `${p}[]`, when, null, out);
    } else {
      out.push({
        path: p,
        when,
        required: req,
        default: fmtDefault(v),
        allowed: allowedText(v),
        meaning: v.description ?? '',
      });
    }
  }
}

const whenKey = (w: When[]) => w.map((x) => `${x.tag}=${x.values.join('/')}`);

/** Rows that differ only in one union branch they belong to are merged, repeatedly. */
function mergeRows(rows: FieldRow[]): FieldRow[] {
  let out = rows.map((r) => ({ ...r, when: r.when.map((w) => ({ ...w, values: [...w.values] })) }));
  for (let changed = true; changed; ) {
    changed = false;
    const next: FieldRow[] = [];
    for (const r of out) {
      const same = next.find((o) => {
        if (
          o.path !== r.path ||
          o.required !== r.required ||
          o.default !== r.default ||
          o.allowed !== r.allowed ||
          o.meaning !== r.meaning ||
          o.when.length !== r.when.length
        ) {
          return false;
        }
        const a = whenKey(o.when);
        const b = whenKey(r.when);
        const diff = a.filter((x, i) => x !== b[i]).length;
        return diff <= 1 && o.when.every((w, i) => w.tag === r.when[i]!.tag);
      });
      if (!same) {
        next.push(r);
        continue;
      }
      changed = true;
      same.when.forEach((w, i) => {
        for (const v of r.when[i]!.values) if (!w.values.includes(v)) w.values.push(v);
      });
    }
    out = next;
  }
  return out;
}

function whenText(when: When[]): string {
  return when
    .filter((w) => w.values.length < w.all.length)
    .map((w) => `${w.tag} ${w.values.join(', ')}`)
    .join('; ');
}

export function specFieldsTable(): string {
  const schema = z.toJSONSchema(JobSpec, { io: 'input', unrepresentable: 'any' }) as JS;
  const rows: FieldRow[] = [];
  collectFields(schema, '', [], true, rows);
  const merged = mergeRows(rows);
  const esc = (t: string) => t.replace(/\|/g, '\\|');
  return table(
    ['field', 'when', 'required', 'default', 'allowed', 'meaning'],
    merged.map((r) => [
      `\`${r.path}\``,
      esc(whenText(r.when)),
      r.required === null ? '' : r.required ? '**yes**' : 'no',
      esc(r.default),
      esc(r.allowed),
      esc(r.meaning),
    ]),
  );
}

/** The README's table: each preset, what its run shows, and what each mitigated variant achieves. */
function readmePresets(): string {
  const runs = runAll();
  const rows: string[][] = [];
  for (const p of presets) {
    const s = runs.get(p.id)!.summary;
    const g = at(s, 'gradients.verdict');
    const t = at(s, 'training.verdict');
    const gain = `backward gain ${formatFigure(at(s, 'gradients.backwardGain') ?? s['backwardGain'] ?? null)}`;
    const nonfinite = s['firstNonFiniteStep'];
    const training =
      (t ?? s['outcome']) === 'nonfinite' && typeof nonfinite === 'number'
        ? `non-finite at step ${nonfinite}`
        : `${t ?? `outcome ${String(s['outcome'])}`}: loss ${formatFigure(s['firstLoss'] ?? null)} → ${formatFigure(s['finalLoss'] ?? null)}`;
    const fixes = p.mitigated.map((m) => {
      const ms = runs.get(m.id)!.summary;
      const clip = at(ms, 'mitigation.clipping');
      const clipped =
        clip && typeof clip === 'object' && Number(at(clip, 'stepsClipped')) > 0
          ? `, clipped on ${percent(Number(at(clip, 'fraction')))} of steps`
          : '';
      const verdict = at(ms, 'training.verdict') ?? `outcome ${String(ms['outcome'])}`;
      return `${m.id.slice(p.id.length + 1)}: ${verdict === 'nonfinite' ? 'non-finite' : verdict}${clipped}`;
    });
    rows.push([`\`${p.id}\``, `${g ?? String(s['outcome'])} (${gain})`, training, fixes.join('; ')]);
  }
  return table(['preset', 'gradients', 'training', 'mitigated variants: training'], rows);
}

/** docs/verdicts.md's table: both verdicts and their evidence for every preset and variant. */
function verdictsTable(): string {
  const rows: string[][] = [];
  for (const run of runAll().values()) {
    const s = run.summary;
    const clip = at(s, 'mitigation.clipping');
    rows.push([
      run.id,
      formatFigure(at(s, 'gradients.verdict') ?? null),
      formatFigure(at(s, 'gradients.backwardGain') ?? null),
      formatFigure(at(s, 'gradients.normGrowth') ?? null),
      formatFigure(at(s, 'training.verdict') ?? null),
      formatFigure(at(s, 'training.lossRatio') ?? null),
      clip && typeof clip === 'object'
        ? `${formatFigure(at(clip, 'stepsClipped') ?? null, 'int')} (${percent(Number(at(clip, 'fraction')))}), ×${formatFigure(at(clip, 'maxFactor') ?? null)}`
        : '–',
    ]);
  }
  return table(
    [
      'preset / variant',
      'gradients',
      'backward gain',
      'norm growth',
      'training',
      'loss ratio',
      'clipping: steps (fraction), max factor',
    ],
    rows,
  );
}

const BLOCKS: Record<string, () => string> = {
  'verdicts-table': verdictsTable,
  'readme-presets': readmePresets,
  'presets-table': presetRows,
  'spec-fields': specFieldsTable,
};

// ---------------------------------------------------------------- rendering

const INLINE = /<!--fig:([^|>]+?)(?:\|([^>]*?))?-->([\s\S]*?)<!--\/fig-->/g;
const BLOCK = /<!--gen:([\w-]+)-->([\s\S]*?)<!--\/gen-->/g;

/** The markdown with every marked figure and block as the code produces it now. */
export function render(markdown: string): string {
  return markdown
    .replace(BLOCK, (_m, name: string) => {
      const gen = BLOCKS[name];
      if (!gen) throw new Error(`unknown generated block ${name}`);
      return `<!--gen:${name}-->\n${gen()}\n<!--/gen-->`;
    })
    .replace(INLINE, (_m, key: string, format: string | undefined) => {
      const value = formatFigure(figureValue(key), format ?? '');
      return `<!--fig:${key}${format ? `|${format}` : ''}-->${value}<!--/fig-->`;
    });
}

/** The marked figures of a file: key, format, and the text the file holds. */
export function markedFigures(markdown: string): { key: string; format: string; text: string }[] {
  return [...markdown.matchAll(INLINE)].map((m) => ({ key: m[1]!, format: m[2] ?? '', text: m[3]! }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const file of FIGURE_FILES) {
    const full = path.join(ROOT, file);
    const text = readFileSync(full, 'utf8');
    const fresh = render(text);
    if (fresh === text) continue;
    stale++;
    if (check) console.error(`${file}: figures differ from what the code produces (run npx tsx scripts/figures.ts)`);
    else {
      writeFileSync(full, fresh);
      console.log(`wrote ${file}`);
    }
  }
  if (check && stale > 0) process.exitCode = 1;
}
