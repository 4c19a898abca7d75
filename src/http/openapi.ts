/**
 * OpenAPI document helpers. Components come from every zod schema with a `.meta({ id })` that
 * happens to be loaded, which depends on the import graph; keeping only the ones the paths reach
 * makes the document a function of the routes alone, so openapi.yaml does not drift when some
 * other module registers a schema.
 */

type Json = unknown;

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

/** Drops component schemas that no path reaches (directly or through other components). */
export function pruneUnusedSchemas<T extends { paths?: unknown; components?: { schemas?: Record<string, unknown> } }>(
  doc: T,
): T {
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
