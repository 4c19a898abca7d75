/**
 * The error registry (src/errors.ts) and its HTTP binding (src/http/problem.ts): one class per
 * code, recognised by instanceof; every code has exactly one HTTP status and title; field errors
 * travel one way; and the runtime's side of the registry knows nothing of HTTP.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errors, GlError } from '../../src/errors.js';
import { HTTP_PROBLEMS } from '../../src/http/problem.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the error registry', () => {
  const classes = Object.values(errors);

  it('has one class per stable code, each described, each bound to one HTTP status and title', () => {
    const codes = classes.map((E) => E.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const E of classes) {
      expect(E.code).toMatch(/^GL_ERR_[A-Z_]+$/);
      expect(E.description.length).toBeGreaterThan(10);
    }
    expect(Object.keys(HTTP_PROBLEMS).sort()).toEqual([...codes].sort());
    for (const { status, title } of Object.values(HTTP_PROBLEMS)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
      expect(title.length).toBeGreaterThan(0);
    }
  });

  it('is matched by class: each error is an instance of its own class only', () => {
    const ended = new errors.JOB_ENDED('j1', 'succeeded');
    expect(ended).toBeInstanceOf(GlError);
    expect(ended).toBeInstanceOf(errors.JOB_ENDED);
    expect(ended).toBeInstanceOf(Error);
    for (const E of classes) if (E !== errors.JOB_ENDED) expect(ended).not.toBeInstanceOf(E);
    expect(ended.code).toBe('GL_ERR_JOB_ENDED');
    expect(ended.name).toBe('JobEndedError');
    expect(ended.message).toBe('Job j1 has already ended (succeeded)');
  });

  it('carries field errors one way: the constructor argument, read back as `errors`', () => {
    const fields = [{ path: 'network.depth', message: 'must be ≥ 1' }];
    const impossible = new errors.SPEC_IMPOSSIBLE(fields);
    expect(impossible.errors).toEqual(fields);
    expect(impossible.message).toBe('The job spec cannot run: network.depth: must be ≥ 1');
    expect(new errors.SWEEP_INVALID(fields, 'over the cell budget').message).toBe(
      'The sweep cannot run: over the cell budget',
    );
    expect(new errors.VALIDATION(fields, 'querystring').message).toBe('Invalid querystring: network.depth');
    expect(new errors.JOB_NOT_FOUND('x').errors).toEqual([]);
  });

  it('keeps HTTP out of what the runtime imports', () => {
    expect(readFileSync(path.join(SRC, 'errors.ts'), 'utf8')).not.toMatch(/^import /m);
    for (const file of filesUnder(path.join(SRC, 'runtime'))) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/from '(\.\.\/)+http\//);
      expect(text, file).not.toMatch(/from '(fastify|@fastify\/[a-z-]+)'/);
      // Errors are recognised by class, never by comparing code strings.
      expect(text, file).not.toMatch(/===? 'GL_ERR_/);
    }
  });
});

describe("the router's own errors", () => {
  it('answer problem+json too: an over-long path parameter and a path that is not valid percent-encoding', async () => {
    const { buildApp } = await import('../../src/app.js');
    const { loadConfig } = await import('../../src/config.js');
    const app = await buildApp(
      loadConfig({ DATA_DIR: ':memory:', WORKERS: '1', LOG_LEVEL: 'silent', SHUTDOWN_GRACE_S: '0' }),
    );
    try {
      // (A GET with an over-long id falls through to the dashboard's static files: 404 GL_ERR_ROUTE_NOT_FOUND.)
      for (const [method, url] of [
        ['DELETE', `/v1/jobs/${'x'.repeat(200)}`],
        ['GET', '/v1/jobs/%E0%A4%A'],
        ['DELETE', `/v1/sweeps/${'y'.repeat(150)}`],
      ] as const) {
        const r = await app.inject({ method, url });
        expect(r.statusCode, url).toBe(400);
        expect(r.headers['content-type'], url).toMatch(/^application\/problem\+json/);
        expect(r.json(), url).toMatchObject({ code: 'GL_ERR_VALIDATION', errors: [{ path: 'params' }] });
      }
    } finally {
      await app.close();
    }
  });
});
