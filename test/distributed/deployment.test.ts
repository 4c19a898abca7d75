/** Backend and role selection from the environment (src/runtime/distributed/deployment.ts). */
import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../src/runtime/distributed/deployment.js';

const R = 'redis://127.0.0.1:6379';
const D = 'postgres://postgres@127.0.0.1:5432/test';

function problems(env: Record<string, string>) {
  const r = parseDeployment(env);
  if (r.ok) throw new Error(`expected problems, got ${JSON.stringify(r.deployment)}`);
  return r.problems;
}

describe('parseDeployment', () => {
  it('neither URL: embedded, and blank values count as unset', () => {
    expect(parseDeployment({})).toEqual({ ok: true, deployment: { backend: 'embedded', role: 'all' } });
    expect(parseDeployment({ REDIS_URL: ' ', DATABASE_URL: '', ROLE: 'all' })).toEqual({
      ok: true,
      deployment: { backend: 'embedded', role: 'all' },
    });
  });

  it('both URLs: distributed, role all by default, schema and prefix defaulted', () => {
    expect(parseDeployment({ REDIS_URL: R, DATABASE_URL: D })).toEqual({
      ok: true,
      deployment: {
        backend: 'distributed',
        role: 'all',
        redisUrl: R,
        databaseUrl: D,
        databaseSchema: 'public',
        redisPrefix: 'gl:',
      },
    });
    const r = parseDeployment({
      REDIS_URL: 'rediss://r.example:6380/2',
      DATABASE_URL: 'postgresql://u:p@db/x',
      ROLE: 'worker',
      DATABASE_SCHEMA: 'lab_2',
      REDIS_PREFIX: 'lab2:',
    });
    expect(r).toMatchObject({
      ok: true,
      deployment: { role: 'worker', databaseSchema: 'lab_2', redisPrefix: 'lab2:' },
    });
  });

  it('one URL without the other stops, naming the missing variable', () => {
    expect(problems({ REDIS_URL: R })).toEqual([
      { variable: 'DATABASE_URL', message: expect.stringContaining('DATABASE_URL is not') },
    ]);
    expect(problems({ DATABASE_URL: D })).toEqual([
      { variable: 'REDIS_URL', message: expect.stringContaining('REDIS_URL is not') },
    ]);
  });

  it.each([
    ['ROLE', 'api', {}],
    ['ROLE', 'worker', {}],
    ['ROLE', 'both', { REDIS_URL: R, DATABASE_URL: D }],
    ['REDIS_URL', 'http://x', { DATABASE_URL: D }],
    ['DATABASE_URL', 'mysql://x/y', { REDIS_URL: R }],
    ['DATABASE_URL', 'not a url', { REDIS_URL: R }],
    ['DATABASE_SCHEMA', 'Robert"); DROP', { REDIS_URL: R, DATABASE_URL: D }],
    ['REDIS_PREFIX', 'a b', { REDIS_URL: R, DATABASE_URL: D }],
  ])('refuses %s=%s, naming the variable', (variable, value, rest) => {
    const ps = problems({ ...rest, [variable]: value });
    expect(ps.map((p) => p.variable)).toEqual([variable]);
  });
});
