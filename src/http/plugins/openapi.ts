/**
 * The OpenAPI document, built from the routes' zod schemas (@fastify/swagger), Swagger UI on
 * /docs, and the document itself on /openapi.json. Register it before the routes.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { pruneUnusedSchemas } from '../openapi.js';

export const API_VERSION = '1.0.0';

/** A readable operationId for routes that do not set one, e.g. GET /healthz → getHealthz. */
function operationIdFor(method: string | string[], url: string): string {
  const m = (Array.isArray(method) ? method[0]! : method).toLowerCase();
  const words = url.split(/[^A-Za-z0-9]+/).filter((w) => w.length > 0);
  return m + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

export default fp(
  async (app) => {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Gradient Lab',
          version: API_VERSION,
          description:
            'Train small neural networks in worker threads and watch, step by step and layer by layer, how their gradients explode or vanish, and what each mitigation does about it. Errors are application/problem+json (RFC 9457). Non-finite numbers travel as the strings "NaN", "Infinity", "-Infinity".',
          license: { name: 'MIT', identifier: 'MIT' },
        },
        servers: [{ url: '/', description: 'This server' }],
        tags: [
          { name: 'jobs', description: 'Simulation jobs' },
          { name: 'streams', description: 'Live event streams (WebSocket, NDJSON)' },
          { name: 'analysis', description: 'Analysis of a network at initialization, and ready-made scenarios' },
          { name: 'ops', description: 'Health and metrics (outside /v1, never behind API keys)' },
        ],
        components: {
          securitySchemes: {
            apiKey: {
              type: 'http',
              scheme: 'bearer',
              description: 'Required on /v1 when the server has API_KEYS configured.',
            },
          },
        },
      },
      transform: (doc) => {
        const out = jsonSchemaTransform(doc);
        const schema = out.schema as Record<string, unknown>;
        // /v1 takes the bearer key when keys are configured (hence the empty alternative); the rest is open.
        schema['security'] = doc.url.startsWith('/v1/') ? [{ apiKey: [] }, {}] : [];
        schema['operationId'] ??= operationIdFor(doc.route.method, doc.url);
        return out;
      },
      transformObject: (doc) => pruneUnusedSchemas(jsonSchemaTransformObject(doc) as never),
    });
    await app.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      // Swagger UI's CSP asks browsers to upgrade to https, which breaks /docs over plain HTTP on
      // any host but localhost (issue 11, defect 8): the dashboard's CSP leaves it out too.
      transformStaticCSP: (header: string) => header.replace(/\s*upgrade-insecure-requests;?/g, ''),
    });
    app.get('/openapi.json', { schema: { hide: true } }, async (_req, reply) =>
      reply.type('application/json; charset=utf-8').serializer(JSON.stringify).send(app.swagger()),
    );
  },
  { name: 'gradient-lab-openapi' },
);
