/**
 * The contract: openapi.yaml is what the app generates (exactly), it is a valid OpenAPI 3.1
 * document, and it documents what clients generate types from: the event schemas and the
 * WebSocket route.
 */
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateOpenApiYaml, OPENAPI_HEADER } from '../../scripts/gen-openapi.js';

const committed = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8');

describe('openapi.yaml', () => {
  it('is exactly what the app generates (run `npm run gen:openapi` after changing a schema or route)', async () => {
    const generated = await generateOpenApiYaml();
    expect(committed).toBe(generated);
  });

  it('starts with the do-not-edit header', () => {
    expect(committed.startsWith(OPENAPI_HEADER)).toBe(true);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = parse(committed);
    expect(doc.openapi).toBe('3.1.0');
    // validate() dereferences in place and throws on any schema or reference error.
    await SwaggerParser.validate(structuredClone(doc));
  });

  it('documents the events, the job resources and problem+json as components', () => {
    const doc = parse(committed);
    const schemas = Object.keys(doc.components.schemas);
    for (const name of [
      'StepEvent',
      'NonFiniteEvent',
      'DoneEvent',
      'JobEvent',
      'Job',
      'JobPage',
      'JobResult',
      'Problem',
      'Summary',
      'Series',
      'JobSpecInput',
    ]) {
      expect(schemas, name).toContain(name);
    }
    const oneOf = doc.components.schemas.JobEvent.oneOf ?? doc.components.schemas.JobEvent.anyOf;
    expect(oneOf.map((s: { $ref: string }) => s.$ref).sort()).toEqual([
      '#/components/schemas/DoneEvent',
      '#/components/schemas/NonFiniteEvent',
      '#/components/schemas/StepEvent',
    ]);
  });

  it('documents every route, the WebSocket one included', () => {
    const doc = parse(committed);
    const stream = doc.paths['/v1/jobs/{id}/stream']?.get;
    expect(stream).toBeDefined();
    expect(stream.responses['101'].content['application/json'].schema.$ref).toBe('#/components/schemas/JobEvent');
    expect(stream.responses['426']).toBeDefined();
    expect(stream.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['access_token', 'from', 'id']);
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v1/jobs',
        'GET /v1/jobs',
        'GET /v1/jobs/{id}',
        'DELETE /v1/jobs/{id}',
        'GET /v1/jobs/{id}/result',
        'GET /v1/jobs/{id}/events',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
      ]),
    );
    expect(doc.paths['/v1/jobs'].post.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/JobSpecInput',
    );
  });
});
