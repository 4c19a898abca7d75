/**
 * POST /v1/analysis and GET /v1/presets through HTTP.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitEvents, buildTestApp } from './helper.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = await buildTestApp({ WORKERS: '2' });
});
afterAll(async () => {
  await app.close();
});

describe('POST /v1/analysis', () => {
  it('returns the textbook products exactly: (1.5·I)^10 = 57.6650390625·I, (0.5·I)^10 = 2^-10·I', async () => {
    // 1.5^10 = 3^10 / 2^10 = 59049 / 1024, exact in binary floating point (docs/design.md).
    for (const [gain, product] of [
      [1.5, 59049 / 1024],
      [0.5, 1 / 1024],
    ] as const) {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/analysis',
        payload: { network: { kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain } } },
      });
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json();
      expect(body.product.matrix).toEqual([
        [product, 0],
        [0, product],
      ]);
      expect(body.scaledIdentity.forwardGain).toBe(product);
      expect(body.layers).toHaveLength(10);
    }
  });

  it('answers 400 for schema errors, 422 for impossible shapes and for work over budget', async () => {
    const bad = await app.inject({ method: 'POST', url: '/v1/analysis', payload: { network: { kind: 'linear' } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { path: string }) => e.path)).toContain('network.depth');

    const shapes = await app.inject({
      method: 'POST',
      url: '/v1/analysis',
      payload: {
        network: {
          kind: 'linear',
          depth: 2,
          width: 2,
          init: {
            scheme: 'explicit',
            weights: [
              [
                [1, 0],
                [0, 1],
              ],
              [[1, 0, 0]],
            ],
          },
        },
      },
    });
    expect(shapes.statusCode).toBe(422);
    expect(shapes.json().code).toBe('GL_ERR_SPEC_IMPOSSIBLE');
    expect(shapes.json().errors[0].path).toMatch(/^network\.init\.weights/);

    const huge = await app.inject({
      method: 'POST',
      url: '/v1/analysis',
      payload: { network: { kind: 'mlp', depth: 500, width: 2048 } },
    });
    expect(huge.statusCode).toBe(422);
    expect(huge.json().code).toBe('GL_ERR_OVER_BUDGET');
    expect(huge.json().errors[0].path).toBe('network.width');
  });

  it('runs off the event loop: the server answers while a long analysis computes', async () => {
    const order: string[] = [];
    const analysis = app
      .inject({ method: 'POST', url: '/v1/analysis', payload: { network: { kind: 'mlp', depth: 20, width: 128 } } })
      .then((r) => {
        order.push('analysis');
        return r;
      });
    const health = app.inject({ method: 'GET', url: '/healthz' }).then((r) => {
      order.push('healthz');
      return r;
    });
    const [a, h] = await Promise.all([analysis, health]);
    expect(a.statusCode, a.body).toBe(200);
    expect(a.json().layers).toHaveLength(20);
    expect(h.statusCode).toBe(200);
    expect(order).toEqual(['healthz', 'analysis']);
  });
});

describe('GET /v1/presets', () => {
  it('lists presets whose specs the API accepts and whose runs show the promised outcome', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/presets' });
    expect(r.statusCode).toBe(200);
    const catalog: {
      presets: { id: string; expectedOutcome: string; spec: object; mitigated: { spec: object }[] }[];
      sweeps: { id: string; request: object }[];
    } = r.json();
    const list = catalog.presets;
    // The classic sweeps are listed beside the jobs, each a body POST /v1/sweeps accepts as is.
    expect(catalog.sweeps.map((p) => p.id)).toEqual(
      expect.arrayContaining(['sweep-he-2015', 'sweep-schoenholz-2017', 'sweep-pascanu-2013', 'sweep-textbook']),
    );
    expect(list.map((p) => p.id)).toEqual(expect.arrayContaining(['textbook-exploding', 'textbook-vanishing']));
    const runs = await Promise.all(
      list.map(async (preset) => {
        const sub = await app.inject({ method: 'POST', url: '/v1/jobs', payload: preset.spec });
        expect(sub.statusCode, `${preset.id}: ${sub.body}`).toBe(202);
        const events = await awaitEvents(app, sub.json().id);
        return { preset, done: events.at(-1) as { type: string; summary: { outcome: string } } };
      }),
    );
    for (const { preset, done } of runs) {
      expect(done.type).toBe('done');
      expect(done.summary.outcome, preset.id).toBe(preset.expectedOutcome);
    }
  });
});
