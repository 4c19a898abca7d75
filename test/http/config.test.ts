/**
 * The environment configuration: laptop defaults, empty means default, and a bad value names
 * its variable.
 */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has defaults that work on a laptop', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      logLevel: 'info',
      workers: os.availableParallelism(),
      dataDir: './data',
      jobTtlMs: null,
      maxJobs: null,
      apiKeys: [],
      corsOrigins: [],
      shutdownGraceS: 10,
      wsPingMs: 15_000,
    });
  });

  it('reads values, lists and units', () => {
    const c = loadConfig({
      PORT: '9000',
      WORKERS: '3',
      DATA_DIR: ':memory:',
      JOB_TTL: '3600',
      MAX_JOBS: '50',
      API_KEYS: ' a , b,,',
      CORS_ORIGINS: 'https://x.example',
      MAX_WORK_FLOPS: '1e9',
    });
    expect(c).toMatchObject({
      port: 9000,
      workers: 3,
      dataDir: null,
      jobTtlMs: 3_600_000,
      maxJobs: 50,
      apiKeys: ['a', 'b'],
      corsOrigins: ['https://x.example'],
      maxWorkFlops: 1e9,
    });
  });

  it('treats empty values as unset', () => {
    const c = loadConfig({ PORT: '', JOB_TTL: ' ', API_KEYS: '', WORKERS: '', REDIS_URL: '' });
    expect(c.port).toBe(8080);
    expect(c.jobTtlMs).toBeNull();
    expect(c.apiKeys).toEqual([]);
    expect(c.workers).toBe(os.availableParallelism());
  });

  it.each([
    ['PORT', 'http'],
    ['PORT', '70000'],
    ['WORKERS', '0'],
    ['WORKERS', '1.5'],
    ['LOG_LEVEL', 'loud'],
    ['MAX_QUEUE', '-1'],
    ['BODY_LIMIT', 'NaN'],
    ['SHUTDOWN_GRACE_S', 'soon'],
    ['JOB_TTL', '0'],
    ['ROLE', 'api'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.variable)).toEqual([name]);
      expect((err as Error).message).toContain(name);
    }
  });

  it('reads ENGINE_KERNELS: exact by default, fma where the runtime runs relaxed SIMD', () => {
    const has = { fmaAvailable: () => true };
    expect(loadConfig({}, has).kernels).toBe('exact');
    expect(loadConfig({ ENGINE_KERNELS: '' }, has).kernels).toBe('exact');
    expect(loadConfig({ ENGINE_KERNELS: 'exact' }, has).kernels).toBe('exact');
    expect(loadConfig({ ENGINE_KERNELS: 'fma' }, has).kernels).toBe('fma');
  });

  it.each([
    ['fma on a runtime without relaxed SIMD', 'fma', /relaxed SIMD/],
    ['an unknown value', 'fast', /exact|fma/],
  ])('refuses ENGINE_KERNELS: %s, naming the setting', (_, value, why) => {
    let checked = 0;
    const lacks = {
      fmaAvailable: () => {
        checked++;
        return false;
      },
    };
    expect(() => loadConfig({ ENGINE_KERNELS: value }, lacks)).toThrow(ConfigError);
    try {
      loadConfig({ ENGINE_KERNELS: value }, lacks);
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        { variable: 'ENGINE_KERNELS', message: expect.stringMatching(why) },
      ]);
      expect((err as Error).message).toContain('ENGINE_KERNELS');
    }
    // Exact never asks: it runs everywhere.
    expect(loadConfig({ ENGINE_KERNELS: 'exact' }, lacks).kernels).toBe('exact');
    expect(checked).toBe(value === 'fma' ? 2 : 0);
  });

  it.each([
    [{ REDIS_URL: 'redis://127.0.0.1:6379' }, 'DATABASE_URL', /DATABASE_URL is not/],
    [{ DATABASE_URL: 'postgres://postgres@127.0.0.1/test' }, 'REDIS_URL', /REDIS_URL is not/],
    [
      { REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://postgres@127.0.0.1/test' },
      'REDIS_URL',
      /cannot run yet/,
    ],
  ])('the distributed backend: %o stops at start naming %s', (env, variable, message) => {
    try {
      loadConfig(env);
      expect.unreachable('loadConfig accepted it');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.variable)).toEqual([variable]);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('runs embedded when neither URL is set', () => {
    expect(loadConfig({}).deployment).toEqual({ backend: 'embedded', role: 'all' });
  });
});
