/**
 * OpenAPI document helpers. Components come from every zod schema with a `.meta({ id })` that
 * happens to be loaded, which depends on the import graph; keeping only the ones the paths reach
 * makes the document a function of the routes alone, so openapi.yaml does not drift when some
 * other module registers a schema.
 */

import { globalRegistry, z } from 'zod';

type Json = unknown;

const INPUT_FORM_OF = 'x-gl-input-form-of';

/**
 * A response that is shaped like a request (the presets are job specs a client will send back):
 * fastify-type-provider-zod renders every response schema in its *output* form (defaults filled,
 * every field required), so this stands in for the named schema and `pruneUnusedSchemas` turns it
 * into a reference to that schema's input form, the `<id>Input` component.
 */
export function inputFormOf(schema: z.ZodType): z.ZodType {
  const id = globalRegistry.get(schema)?.id;
  if (!id) throw new Error('inputFormOf needs a schema with .meta({ id })');
  return z.unknown().meta({ [INPUT_FORM_OF]: id });
}

/** Replaces each `inputFormOf` stand-in by a $ref to the named input component. */
function resolveInputForms(node: Json): Json {
  if (Array.isArray(node)) return node.map(resolveInputForms);
  if (node === null || typeof node !== 'object') return node;
  const id = (node as Record<string, unknown>)[INPUT_FORM_OF];
  if (typeof id === 'string') return { $ref: `#/components/schemas/${id}Input` };
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolveInputForms(v)]));
}

function collectRefs(node: Json, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const x of node) collectRefs(x, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
      out.add(v.slice('#/components/schemas/'.length));
    } else {
      collectRefs(v, out);
    }
  }
}

/**
 * Drops component schemas that no path reaches (directly or through other components), after
 * resolving the `inputFormOf` stand-ins in the paths.
 */
export function pruneUnusedSchemas<T extends { paths?: unknown; components?: { schemas?: Record<string, unknown> } }>(
  input: T,
): T {
  const doc = { ...input, paths: resolveInputForms(input.paths) } as T;
  const schemas = doc.components?.schemas;
  if (!schemas) return doc;
  const reached = new Set<string>();
  collectRefs(doc.paths, reached);
  const queue = [...reached];
  while (queue.length > 0) {
    const name = queue.pop()!;
    const found = new Set<string>();
    collectRefs(schemas[name], found);
    for (const f of found) {
      if (!reached.has(f)) {
        reached.add(f);
        queue.push(f);
      }
    }
  }
  const kept = Object.fromEntries(
    Object.keys(schemas)
      .filter((name) => reached.has(name))
      .sort()
      .map((name) => [name, schemas[name]]),
  );
  return { ...doc, components: { ...doc.components, schemas: kept } };
}
