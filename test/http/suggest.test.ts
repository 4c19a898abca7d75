// The API's 400 names the nearest field or option for a typo (src/http/suggest.ts → src/suggest.ts).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './helper.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

describe('did you mean, in problem+json field errors', () => {
  it('POST /v1/jobs with misspelt fields and options', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: {
        network: { kind: 'linear', depth: 3, init: { scheme: 'scaled-identity', gian: 1.5 } },
        trainng: { steps: 5 },
        mitigations: [{ kind: 'clip-norm', maxnorm: 1 }],
      },
    });
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = r.json();
    expect(body.code).toBe('GL_ERR_VALIDATION');
    expect(body.errors).toContainEqual({ path: 'trainng', message: 'unknown field; did you mean "training"?' });
    expect(body.errors).toContainEqual({ path: 'network.init.gian', message: 'unknown field; did you mean "gain"?' });
    expect(body.errors).toContainEqual({
      path: 'mitigations.0.maxnorm',
      message: 'unknown field; did you mean "maxNorm"?',
    });
  });

  it('a misspelt network kind and optimizer', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { network: { kind: 'mpl', depth: 3 }, training: { optimizer: 'Adam' } },
    });
    expect(r.statusCode).toBe(400);
    const by = Object.fromEntries(r.json().errors.map((e: { path: string; message: string }) => [e.path, e.message]));
    expect(by['network.kind']).toMatch(/did you mean "mlp"\?$/);
    expect(by['training.optimizer']).toMatch(/did you mean "adam"\?$/);
  });

  it('query parameters too, under their querystring. path', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/jobs?status=runing' });
    expect(r.statusCode).toBe(400);
    expect(r.json().errors).toContainEqual({
      path: 'querystring.status',
      message: expect.stringMatching(/did you mean "running"\?$/),
    });
  });
});
