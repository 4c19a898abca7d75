/**
 * "Did you mean …?" for validation errors: an unknown key gets the nearest field name its object
 * accepts (`trainng` → `training`), a misspelt option the nearest allowed value (`adm` → `adam`,
 * `lineer` → `linear`). The allowed names are read from the zod schema itself, following the
 * request's own values through discriminated unions (a `linear` network offers `depth`, an `rnn`
 * `hidden`), so nothing here can drift from the contract. Used by the CLI and, through one hook
 * in the problem+json handler, by the HTTP API (docs/api.md "Validation errors").
 */

/** A bad field as the API and the CLI report it: a dotted path and a message. */
export interface FieldError {
  path: string;
  message: string;
}

/** The message of an unknown key; the API has always used it (src/http/problem.ts). */
export const UNKNOWN_FIELD = 'unknown field';

/** At most this many errors of one request get a suggestion (each walks the schema). */
export const MAX_SUGGESTIONS = 50;

/**
 * Optimal-string-alignment distance: Levenshtein (insert, delete, substitute) plus the swap of two
 * adjacent characters, each costing 1, so `gian` is one edit from `gain`.
 */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  // Three rows: two back for transpositions.
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m];
}

/**
 * The candidate nearest to `word` (case ignored), or null when none is close enough to be a typo:
 * at most a third of the word's length in edits (at least 1, at most 3). Ties go to the candidate
 * listed first.
 */
export function nearest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    // The length difference bounds the distance from below: most candidates cost nothing, and a
    // hostile megabyte-long key is never compared.
    if (c === word || Math.abs(c.length - w.length) > limit) continue;
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= limit ? best : null;
}

// zod 4 keeps a schema's structure in `_zod.def`; only the parts walked here are typed.
interface Def {
  type: string;
  shape?: Record<string, Schema>;
  innerType?: Schema;
  in?: Schema;
  element?: Schema;
  options?: Schema[];
  discriminator?: string;
  entries?: Record<string, unknown>;
  values?: unknown[];
  getter?: () => Schema;
}
interface Schema {
  _zod: { def: Def };
}

function isSchema(x: unknown): x is Schema {
  return typeof x === 'object' && x !== null && '_zod' in x;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'nonoptional', 'readonly', 'catch']);

function unwrap(s: Schema): Schema {
  let cur = s;
  for (let i = 0; i < 32; i++) {
    const def = cur._zod.def;
    if (WRAPPERS.has(def.type) && def.innerType) cur = def.innerType;
    else if (def.type === 'pipe' && def.in) cur = def.in;
    else if (def.type === 'lazy' && def.getter) cur = def.getter();
    else break;
  }
  return cur;
}

/** The literal values a schema accepts (enum entries, literals), or null when it is not one. */
function literalValues(s: Schema): unknown[] | null {
  const def = unwrap(s)._zod.def;
  if (def.type === 'enum' && def.entries) return Object.values(def.entries);
  if (def.type === 'literal' && def.values) return def.values;
  return null;
}

function child(obj: unknown, key: PropertyKey): unknown {
  return typeof obj === 'object' && obj !== null ? (obj as Record<PropertyKey, unknown>)[key] : undefined;
}

/** The options of a union the input may be meant for: its discriminator's match, else all. */
function unionOptions(def: Def, input: unknown): Schema[] {
  const options = def.options ?? [];
  if (def.discriminator === undefined) return options;
  const tag = child(input, def.discriminator);
  const matching = options.filter((o) => {
    const shape = unwrap(o)._zod.def.shape;
    const values = shape?.[def.discriminator as string] ? literalValues(shape[def.discriminator as string]) : null;
    return values?.includes(tag) ?? false;
  });
  return matching.length > 0 ? matching : options;
}

/** The schemas that may describe `path` within `input` (several where a union is ambiguous). */
function schemasAt(schema: Schema, input: unknown, path: readonly PropertyKey[]): Schema[] {
  let frontier: { s: Schema; value: unknown }[] = [{ s: schema, value: input }];
  for (const key of path) {
    const next: { s: Schema; value: unknown }[] = [];
    const expand = (s: Schema, value: unknown, depth: number): void => {
      const u = unwrap(s);
      const def = u._zod.def;
      if (def.type === 'union' && depth < 8) {
        for (const o of unionOptions(def, value)) expand(o, value, depth + 1);
      } else if (def.type === 'object' && def.shape && typeof key === 'string' && key in def.shape) {
        next.push({ s: def.shape[key], value: child(value, key) });
      } else if (def.type === 'array' && def.element) {
        next.push({ s: def.element, value: child(value, key) });
      }
    };
    for (const { s, value } of frontier) expand(s, value, 0);
    frontier = next;
  }
  const out: Schema[] = [];
  const flatten = (s: Schema, value: unknown, depth: number): void => {
    const u = unwrap(s);
    if (u._zod.def.type === 'union' && depth < 8)
      for (const o of unionOptions(u._zod.def, value)) flatten(o, value, depth + 1);
    else out.push(u);
  };
  for (const { s, value } of frontier) flatten(s, value, 0);
  return out;
}

/** The field names the object at `path` accepts, in schema order (empty when there is no object there). */
export function allowedKeys(schema: unknown, input: unknown, path: readonly PropertyKey[]): string[] {
  if (!isSchema(schema)) return [];
  const keys = new Set<string>();
  for (const s of schemasAt(schema, input, path)) for (const k of Object.keys(s._zod.def.shape ?? {})) keys.add(k);
  return [...keys];
}

/**
 * The string values the field at `path` accepts, when it is an enum, a literal or a union's
 * discriminator (empty otherwise).
 */
export function allowedValues(schema: unknown, input: unknown, path: readonly PropertyKey[]): string[] {
  if (!isSchema(schema) || path.length === 0) return [];
  const key = path[path.length - 1];
  const values = new Set<string>();
  // A union's options are all offered when the input's discriminator names none of them, so a
  // misspelt discriminator is compared with every tag.
  for (const parent of schemasAt(schema, input, path.slice(0, -1))) {
    const field = typeof key === 'string' ? parent._zod.def.shape?.[key] : undefined;
    for (const v of (field && literalValues(field)) ?? []) if (typeof v === 'string') values.add(v);
  }
  return [...values];
}

function splitPath(path: string): PropertyKey[] {
  if (path === '') return [];
  return path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const k of path) cur = child(cur, k);
  return cur;
}

/**
 * Adds "did you mean …?" to the field errors it can: an unknown field whose name is a typo of a
 * field its object accepts, or a string value that is a typo of an allowed option. `input` is the
 * value that was validated against `schema`; `prefix` is a leading path segment the errors carry
 * that the schema does not (e.g. `querystring`).
 */
export function withSuggestions(errors: FieldError[], schema: unknown, input: unknown, prefix = ''): FieldError[] {
  if (!isSchema(schema)) return errors;
  return errors.map((e, i) => {
    // A body with thousands of bad keys gets suggestions for the first ones only.
    if (i >= MAX_SUGGESTIONS) return e;
    if (prefix && !e.path.startsWith(`${prefix}.`)) return e;
    const path = splitPath(prefix ? e.path.slice(prefix.length + 1) : e.path);
    if (e.message === UNKNOWN_FIELD && path.length > 0) {
      const parent = path.slice(0, -1);
      const name = String(path[path.length - 1]);
      const hit = nearest(name, allowedKeys(schema, input, parent));
      return hit ? { path: e.path, message: `${UNKNOWN_FIELD}; did you mean "${hit}"?` } : e;
    }
    const value = valueAt(input, path);
    if (typeof value !== 'string') return e;
    const hit = nearest(value, allowedValues(schema, input, path));
    return hit ? { path: e.path, message: `${e.message}; did you mean "${hit}"?` } : e;
  });
}

/** Field errors from zod issues, as the API reports them: one per unknown key, dotted paths. */
export function fieldErrorsFromIssues(
  issues: readonly { code: string; path: readonly PropertyKey[]; message: string; keys?: readonly string[] }[],
): FieldError[] {
  const out: FieldError[] = [];
  for (const i of issues) {
    const base = i.path.map(String);
    if (i.code === 'unrecognized_keys' && i.keys) {
      for (const k of i.keys) out.push({ path: [...base, k].join('.'), message: UNKNOWN_FIELD });
    } else {
      out.push({ path: base.join('.'), message: i.message });
    }
  }
  return out;
}
