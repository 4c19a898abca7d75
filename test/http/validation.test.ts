/**
 * Bad input: a table of malformed and hostile job specs, each answered with a 4xx
 * application/problem+json naming the offending field, and a fast-check property over random
 * bodies (never a 5xx). The server must stay healthy afterwards.
 */

import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, smallSpec } from './helper.js';

let app: FastifyInstance;

beforeAll(async () => {
  // A small body limit so the 413 case needs no multi-megabyte payload; a low budget for the 422 one.
  app = await buildTestApp({
    BODY_LIMIT: '65536',
    MAX_WORK_FLOPS: '1e10',
    MAX_QUEUE: '10000',
    RATE_LIMIT_MAX: '100000',
  });
});
afterAll(async () => {
  await app.close();
});

const linear = (network: Record<string, unknown> = {}) => ({
  network: { kind: 'linear', depth: 2, width: 2, ...network },
});
const withTraining = (training: Record<string, unknown>) => ({ ...linear(), training });

interface Case {
  name: string;
  /** An object is sent as JSON; a string is sent raw as application/json. */
  body: unknown;
  status: number;
  code: string;
  /** A field path that must appear in `errors` (exactly, or as a prefix when it ends with "."). */
  path?: string;
  contentType?: string;
}

const cases: Case[] = [
  { name: 'empty object', body: {}, status: 400, code: 'GL_ERR_VALIDATION', path: 'network' },
  {
    name: 'network without kind',
    body: { network: { depth: 2 } },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'network.kind',
  },
  {
    name: 'unknown network kind',
    body: { network: { kind: 'cnn', depth: 2 } },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'network.kind',
  },
  {
    name: 'depth as a string',
    body: linear({ depth: '10' }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'network.depth',
  },
  { name: 'depth zero', body: linear({ depth: 0 }), status: 400, code: 'GL_ERR_VALIDATION', path: 'network.depth' },
  {
    name: 'depth fractional',
    body: linear({ depth: 1.5 }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'network.depth',
  },
  { name: 'depth huge', body: linear({ depth: 1e9 }), status: 400, code: 'GL_ERR_VALIDATION', path: 'network.depth' },
  {
    name: 'width "NaN" string',
    body: linear({ width: 'NaN' }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'network.width',
  },
  {
    name: 'gain "Infinity" string',
    body: linear({ init: { scheme: 'he', gain: 'Infinity' } }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'network.init.gain',
  },
  {
    name: 'unknown init scheme',
    body: linear({ init: { scheme: 'lecun' } }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'network.init.scheme',
  },
  { name: 'unknown top-level key', body: { ...linear(), foo: 1 }, status: 400, code: 'GL_ERR_VALIDATION', path: 'foo' },
  {
    name: 'unknown nested key',
    body: linear({ colour: 'red' }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'network.colour',
  },
  {
    name: 'learning rate "NaN" string',
    body: withTraining({ learningRate: 'NaN' }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'training.learningRate',
  },
  {
    name: 'negative learning rate',
    body: withTraining({ learningRate: -0.1 }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'training.learningRate',
  },
  {
    name: 'steps huge',
    body: withTraining({ steps: 1e12 }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'training.steps',
  },
  {
    name: 'unknown optimizer',
    body: withTraining({ optimizer: 'rmsprop' }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'training.optimizer',
  },
  {
    name: 'unknown dtype',
    body: withTraining({ dtype: 'float16' }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'training.dtype',
  },
  {
    name: 'batch size zero',
    body: withTraining({ batchSize: 0 }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'training.batchSize',
  },
  { name: 'negative seed', body: { ...linear(), seed: -1 }, status: 400, code: 'GL_ERR_VALIDATION', path: 'seed' },
  {
    name: 'seed above uint32',
    body: { ...linear(), seed: 2 ** 32 },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'seed',
  },
  {
    name: 'name too long',
    body: { ...linear(), name: 'x'.repeat(201) },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'name',
  },
  {
    name: 'mitigations not an array',
    body: { ...linear(), mitigations: { kind: 'batch-norm' } },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'mitigations',
  },
  {
    name: 'clip-norm without maxNorm',
    body: { ...linear(), mitigations: [{ kind: 'clip-norm' }] },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'mitigations.0.maxNorm',
  },
  {
    name: 'too many mitigations',
    body: { ...linear(), mitigations: Array.from({ length: 17 }, () => ({ kind: 'batch-norm' })) },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'mitigations',
  },
  {
    name: 'unknown mitigation',
    body: { ...linear(), mitigations: [{ kind: 'dropout' }] },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'mitigations.0.kind',
  },
  {
    name: 'unknown data kind',
    body: { ...linear(), data: { kind: 'csv' } },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'data.kind',
  },
  {
    name: 'negative feature scale',
    body: { ...linear(), data: { kind: 'synthetic', featureScales: [1, -1] } },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'data.featureScales.1',
  },
  {
    name: '"NaN" inside explicit weights',
    body: linear({
      depth: 1,
      init: {
        scheme: 'explicit',
        weights: [
          [
            [1, 'NaN'],
            [0, 1],
          ],
        ],
      },
    }),
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'network.init.weights.0.0.1',
  },
  {
    name: 'rnn hidden huge',
    body: { network: { kind: 'rnn', hidden: 1e6 } },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'network.hidden',
  },
  {
    name: 'record.every zero',
    body: { ...linear(), record: { every: 0 } },
    status: 400,
    code: 'GL_ERR_VALIDATION',
    path: 'record.every',
  },
  { name: 'body is an array', body: '[]', status: 400, code: 'GL_ERR_VALIDATION', path: '' },
  { name: 'body is a JSON string', body: '"network"', status: 400, code: 'GL_ERR_VALIDATION', path: '' },
  { name: 'body is null', body: 'null', status: 400, code: 'GL_ERR_VALIDATION', path: '' },
  { name: 'body is not JSON', body: '{"network": ', status: 400, code: 'GL_ERR_MALFORMED_BODY' },
  { name: 'empty body', body: '', status: 400, code: 'GL_ERR_MALFORMED_BODY' },
  {
    name: '__proto__ key',
    body: '{"network": {"kind": "linear", "depth": 2}, "__proto__": {"polluted": true}}',
    status: 400,
    code: 'GL_ERR_MALFORMED_BODY',
  },
  {
    name: 'nested constructor.prototype',
    body: '{"network": {"kind": "linear", "depth": 2, "constructor": {"prototype": {"polluted": true}}}}',
    status: 400,
    code: 'GL_ERR_MALFORMED_BODY',
  },
  {
    name: 'text/plain body',
    body: 'network',
    status: 415,
    code: 'GL_ERR_UNSUPPORTED_MEDIA_TYPE',
    contentType: 'text/plain',
  },
  {
    name: 'body over BODY_LIMIT',
    body: { ...linear(), name: 'x', data: { kind: 'explicit', inputs: [Array(40000).fill(1)], targets: [[1]] } },
    status: 413,
    code: 'GL_ERR_BODY_TOO_LARGE',
  },
  {
    name: 'explicit weights whose shapes do not chain',
    body: linear({
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
    }),
    status: 422,
    code: 'GL_ERR_SPEC_IMPOSSIBLE',
    path: 'network.init.weights.',
  },
  {
    name: 'batch-norm on an rnn',
    body: { network: { kind: 'rnn', hidden: 4, seqLength: 3 }, mitigations: [{ kind: 'batch-norm' }] },
    status: 422,
    code: 'GL_ERR_SPEC_IMPOSSIBLE',
    path: 'mitigations.',
  },
  {
    name: 'featureScales of the wrong length',
    body: { ...linear(), data: { kind: 'synthetic', featureScales: [1, 10, 100] } },
    status: 422,
    code: 'GL_ERR_SPEC_IMPOSSIBLE',
    path: 'data.featureScales',
  },
  {
    name: 'over the work budget',
    body: { network: { kind: 'mlp', depth: 100, width: 512 }, training: { steps: 100000 } },
    status: 422,
    code: 'GL_ERR_OVER_BUDGET',
    path: 'training.steps',
  },
];

function pathMatches(actual: string, expected: string): boolean {
  return expected.endsWith('.') ? actual.startsWith(expected) || actual === expected.slice(0, -1) : actual === expected;
}

describe('POST /v1/jobs rejects bad specs with problem+json', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$name → $status $code', async (c) => {
    const raw = typeof c.body === 'string';
    const r = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'content-type': c.contentType ?? 'application/json' },
      payload: raw ? (c.body as string) : JSON.stringify(c.body),
    });
    expect(r.statusCode, r.body).toBe(c.status);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = r.json();
    expect(problem).toMatchObject({ status: c.status, code: c.code, type: `urn:gradient-lab:problem:${c.code}` });
    expect(typeof problem.title).toBe('string');
    expect(typeof problem.detail).toBe('string');
    expect(problem.instance).toBe('/v1/jobs');
    expect(JSON.stringify(problem)).not.toMatch(/at .*\.(ts|js):\d+/);
    if (c.path !== undefined) {
      const paths: string[] = (problem.errors ?? []).map((e: { path: string }) => e.path);
      expect(
        paths.some((p) => pathMatches(p, c.path!)),
        `errors ${JSON.stringify(problem.errors)} should name ${c.path}`,
      ).toBe(true);
      for (const e of problem.errors) expect(typeof e.message).toBe('string');
    }
  });

  it('leaves Object.prototype alone and the server healthy', async () => {
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    const ok = await app.inject({ method: 'POST', url: '/v1/jobs', payload: smallSpec(2) });
    expect(ok.statusCode, ok.body).toBe(202);
  });
});

describe('other bad requests', () => {
  it('unknown routes → 404 problem+json', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/nothing-here' });
    expect(r.statusCode).toBe(404);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.json().code).toBe('GL_ERR_ROUTE_NOT_FOUND');
  });

  it('unknown job → 404 for every job route', async () => {
    for (const [method, url] of [
      ['GET', '/v1/jobs/nope'],
      ['DELETE', '/v1/jobs/nope'],
      ['GET', '/v1/jobs/nope/result'],
      ['GET', '/v1/jobs/nope/events'],
      ['GET', '/v1/jobs/nope/stream'],
    ] as const) {
      const r = await app.inject({ method, url });
      expect(r.statusCode, `${method} ${url}`).toBe(404);
      expect(r.json().code).toBe('GL_ERR_JOB_NOT_FOUND');
    }
  });

  it('bad query strings name the parameter', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/jobs?limit=0&status=done' });
    expect(r.statusCode).toBe(400);
    const paths = r.json().errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['querystring.limit', 'querystring.status']));
    const from = await app.inject({ method: 'GET', url: '/v1/jobs/x/events?from=-1' });
    expect(from.statusCode).toBe(400);
    expect(from.json().errors[0].path).toBe('querystring.from');
  });

  it('a plain GET on the WebSocket route → 426', async () => {
    const sub = await app.inject({ method: 'POST', url: '/v1/jobs', payload: smallSpec(2) });
    const r = await app.inject({ method: 'GET', url: `/v1/jobs/${sub.json().id}/stream` });
    expect(r.statusCode).toBe(426);
    expect(r.json().code).toBe('GL_ERR_UPGRADE_REQUIRED');
  });
});

describe('random bodies', () => {
  it('never get a 5xx: 4xx problem+json, or 202 when valid', async () => {
    const specLike = fc.record(
      {
        network: fc.oneof(
          fc.record(
            {
              kind: fc.constantFrom('linear', 'mlp', 'rnn', 'cnn'),
              depth: fc.oneof(fc.integer({ min: -2, max: 4 }), fc.double(), fc.string()),
              width: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant('NaN')),
              activation: fc.constantFrom('tanh', 'relu', 'swish'),
            },
            { requiredKeys: ['kind'] },
          ),
          fc.jsonValue(),
        ),
        training: fc.record(
          {
            steps: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.double()),
            learningRate: fc.oneof(fc.double({ noNaN: true }), fc.constantFrom('NaN', 'Infinity')),
            optimizer: fc.constantFrom('sgd', 'adam', 'lbfgs'),
          },
          { requiredKeys: [] },
        ),
        mitigations: fc.array(
          fc.record({ kind: fc.constantFrom('clip-norm', 'batch-norm', 'x'), maxNorm: fc.double() }),
        ),
        seed: fc.oneof(fc.integer(), fc.string()),
      },
      { requiredKeys: [] },
    );
    // Mostly valid specs with one random field overwritten: the boundary between 202 and 4xx.
    const nearValid = fc
      .tuple(
        fc.record({
          network: fc.record({
            kind: fc.constantFrom('linear', 'mlp'),
            depth: fc.integer({ min: 1, max: 3 }),
            width: fc.integer({ min: 1, max: 3 }),
          }),
          training: fc.record({
            steps: fc.integer({ min: 1, max: 3 }),
            learningRate: fc.double({ min: 1e-6, max: 1, noNaN: true }),
            optimizer: fc.constantFrom('sgd', 'momentum', 'adam'),
          }),
          seed: fc.nat(1000),
        }),
        fc.option(fc.tuple(fc.constantFrom('network', 'training', 'seed', 'data', 'x'), fc.jsonValue()), { freq: 2 }),
      )
      .map(([spec, patch]) => (patch ? { ...spec, [patch[0]]: patch[1] } : spec));
    const body = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      specLike.map((v) => JSON.stringify(v)),
      nearValid.map((v) => JSON.stringify(v)),
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const r = await app.inject({
          method: 'POST',
          url: '/v1/jobs',
          headers: { 'content-type': 'application/json' },
          payload,
        });
        if (r.statusCode === 202) {
          accepted++;
          return;
        }
        expect(r.statusCode, r.body).toBeGreaterThanOrEqual(400);
        expect(r.statusCode, r.body).toBeLessThan(500);
        expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
        const problem = r.json();
        expect(problem.code).toMatch(/^GL_ERR_/);
        if (problem.code === 'GL_ERR_VALIDATION') expect(problem.errors.length).toBeGreaterThan(0);
      }),
      { numRuns: 300, seed: 20261127 },
    );
    // Not vacuous: some random bodies are valid (cheap) jobs, so both sides of the boundary are hit.
    expect(accepted).toBeGreaterThan(0);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
