/**
 * Probes of PostgreSQL and Redis answer within their timeout, up or down: against the real servers,
 * against a port where nothing listens, and against a server that accepts and never answers.
 */
import { createServer, type Server } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandRedisOptions, probePostgres, probeRedis } from '../../src/runtime/distributed/health.js';
import { PostgresJobStore } from '../../src/runtime/store/postgres.js';
import { createPool } from '../../src/runtime/store/postgres-schema.js';
import { DATABASE_URL, postgresSkipReason, REDIS_URL, redisSkipReason } from './engines.js';

const pgSkip = await postgresSkipReason();
const redisSkip = await redisSkipReason();

/** A TCP server that accepts connections and never says a word. */
let silent: Server;
let silentPort = 0;
/** A port nothing listens on (taken, then released). */
let closedPort = 0;
const sockets = new Set<import('node:net').Socket>();
beforeAll(async () => {
  silent = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentPort = (silent.address() as { port: number }).port;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

describe('engine probes', () => {
  it.skipIf(Boolean(pgSkip))(`PostgreSQL: up answers ok${pgSkip ? ` (${pgSkip})` : ''}`, async () => {
    const pool = createPool({ connectionString: DATABASE_URL });
    try {
      expect(await probePostgres(pool)).toMatchObject({ ok: true });
    } finally {
      await pool.end();
    }
  });

  it.skipIf(Boolean(redisSkip))(`Redis: up answers ok${redisSkip ? ` (${redisSkip})` : ''}`, async () => {
    const redis = new Redis(REDIS_URL, commandRedisOptions);
    try {
      // Without an offline queue a command fails until the connection is ready: wait for it, as a
      // process does at start.
      expect((await probeRedis(redis)).ok).toBe(false);
      await new Promise((r) => redis.once('ready', r));
      expect(await probeRedis(redis)).toMatchObject({ ok: true });
    } finally {
      redis.disconnect();
    }
  });

  it.each(['closed', 'silent'] as const)('PostgreSQL on a %s port: not ok, within the timeout', async (kind) => {
    const port = kind === 'closed' ? closedPort : silentPort;
    const pool = createPool({
      connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
      connectionTimeoutMs: 5000,
    });
    try {
      const p = await probePostgres(pool, 300);
      expect(p.ok).toBe(false);
      expect(p.ms).toBeLessThan(2000);
      expect(p.error).toBeTruthy();
    } finally {
      void pool.end().catch(() => {});
    }
  });

  it('Redis on a closed port, command options: fails at once rather than queueing the PING', async () => {
    const redis = new Redis({ ...commandRedisOptions, host: '127.0.0.1', port: closedPort });
    redis.on('error', () => {});
    try {
      const p = await probeRedis(redis, 300);
      expect(p.ok).toBe(false);
      expect(p.error).not.toMatch(/did not answer/);
    } finally {
      redis.disconnect();
    }
  });

  it('Redis on a silent port, default options (PING queued): not ok once the timeout is up', async () => {
    const redis = new Redis({ host: '127.0.0.1', port: silentPort });
    redis.on('error', () => {});
    try {
      const p = await probeRedis(redis, 300);
      expect(p.ok).toBe(false);
      expect(p.error).toMatch(/did not answer within 300 ms/);
      expect(p.ms).toBeLessThan(2000);
    } finally {
      redis.disconnect();
    }
  });

  it('a job store whose PostgreSQL is unreachable rejects its calls instead of hanging', async () => {
    const store = new PostgresJobStore({
      connectionString: `postgres://postgres@127.0.0.1:${closedPort}/test`,
      connectionTimeoutMs: 500,
    });
    await expect(store.ready()).rejects.toThrow();
    await expect(store.get('x')).rejects.toThrow();
    await expect(store.checkWritable()).rejects.toThrow();
    await store.close();
  });
});
