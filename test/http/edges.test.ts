/**
 * Issue 11: errors that cost more than the request (defect 2) and edges (defect 8) that live in
 * the contract: a validation problem lists the first issues and counts the rest; `from` takes
 * plain decimal integers only; free text with a lone surrogate is refused, while well-formed text
 * (astral characters included) reads back identically in `name` and `spec.name` from SQLite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FIELD_ERRORS } from '../../src/http/problem.js';
import { buildTestApp, smallSpec } from './helper.js';

let app: FastifyInstance;
const dir = mkdtempSync(join(tmpdir(), 'gl-edges-'));
beforeAll(async () => {
  app = await buildTestApp({ DATA_DIR: dir });
});
afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('validation errors are capped', () => {
  it('a body with 20,000 invalid array elements gets the first issues and a count, not all of them', async () => {
    // 10,000 target rows of two strings: 20,000 invalid numbers (the repro had 500,000).
    const body = {
      network: { kind: 'linear', depth: 2, width: 2 },
      data: { kind: 'explicit', inputs: [[1, 2]], targets: Array.from({ length: 10_000 }, () => ['x', 'y']) },
      training: { steps: 5 },
    };
    const r = await app.inject({ method: 'POST', url: '/v1/jobs', payload: body });
    expect(r.statusCode).toBe(400);
    expect(r.headers['content-type']).toContain('application/problem+json');
    const problem = r.json() as { code: string; detail: string; errors: { path: string }[] };
    expect(problem.code).toBe('GL_ERR_VALIDATION');
    expect(problem.errors).toHaveLength(MAX_FIELD_ERRORS);
    expect(problem.errors[0].path).toBe('data.targets.0.0');
    expect(problem.detail).toContain(`(and ${20_000 - MAX_FIELD_ERRORS} more issues not listed)`);
    // Bounded whatever the number of issues: a few KB, not megabytes.
    expect(r.body.length).toBeLessThan(8 * 1024);
  });

  it('a few issues are all listed, with no count', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/jobs', payload: smallSpec(0) });
    expect(r.statusCode).toBe(400);
    expect(r.json().detail).not.toContain('not listed');
  });
});

describe('`from` is a plain decimal integer', () => {
  it.each(['0x10', '1e3', ' 1', '1 ', '+1', '-1', '1.5', '', 'NaN', '99999999999999999'])(
    'refuses from=%j',
    async (v) => {
      const r = await app.inject({ method: 'GET', url: `/v1/jobs/nope/events?from=${encodeURIComponent(v)}` });
      expect(r.statusCode).toBe(400);
      expect(r.json().errors[0].path).toBe('querystring.from');
    },
  );

  it.each(['0', '16', '0016', '9007199254740991'])('accepts from=%s (then the unknown job is a 404)', async (v) => {
    const r = await app.inject({ method: 'GET', url: `/v1/jobs/nope/events?from=${v}` });
    expect(r.statusCode).toBe(404);
  });

  it('starts from the given seq', async () => {
    const job = (await app.inject({ method: 'POST', url: '/v1/jobs', payload: smallSpec(5) })).json();
    const r = await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/events?from=3` });
    const events = r.body
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l));
    expect(events[0].seq).toBe(3);
  });
});

describe('free text round-trips identically or is refused', () => {
  it('a job name with a lone surrogate is refused, naming the field', async () => {
    for (const name of ['a\ud800b', '\udfff', 'x\ud83d']) {
      const r = await app.inject({ method: 'POST', url: '/v1/jobs', payload: { ...smallSpec(2), name } });
      expect(r.statusCode).toBe(400);
      expect(r.json().errors[0]).toMatchObject({ path: 'name', message: expect.stringContaining('lone surrogate') });
    }
  });

  it('a sweep name or label with a lone surrogate is refused', async () => {
    const base = smallSpec(2);
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/sweeps',
      payload: { name: 'a\ud800', base, axes: [{ path: 'seed', values: [1, 2] }] },
    });
    expect(bad.statusCode).toBe(400);
    const label = await app.inject({
      method: 'POST',
      url: '/v1/sweeps',
      payload: { base, axes: [{ path: 'seed', values: [1, 2], labels: ['ok', '\udc00'] }] },
    });
    expect(label.statusCode).toBe(400);
  });

  it('well-formed names, astral characters included, read back identically after a store round-trip', async () => {
    const name = 'grad 😀 ∂L/∂W — 测试';
    const job = (await app.inject({ method: 'POST', url: '/v1/jobs', payload: { ...smallSpec(2), name } })).json();
    // Listed from the SQLite store (not the live map) once it has ended.
    await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}/events` });
    const read = (await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` })).json();
    expect(read.name).toBe(name);
    expect(read.spec.name).toBe(name);
    const listed = (await app.inject({ method: 'GET', url: '/v1/jobs' })).json();
    const item = listed.items.find((j: { id: string }) => j.id === job.id);
    expect(item.name).toBe(item.spec.name);
  });
});
