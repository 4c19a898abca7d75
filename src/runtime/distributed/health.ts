/**
 * Readiness of the distributed backend's engines (docs/scaling.md): each probe is one round trip
 * (PostgreSQL `SELECT 1`, Redis `PING`) that answers within its timeout whatever the server does —
 * refused, unreachable, or accepting the connection and then silent. `/readyz` and the 503 +
 * Retry-After answers of the API are to be built on these.
 *
 * Command connections are made with `commandRedisOptions`: no offline queue, one retry, so that a
 * command sent while Redis is down fails at once instead of waiting for the reconnection (a request
 * that waits for Redis is a request that hangs).
 */
import type { Redis, RedisOptions } from 'ioredis';
import type pg from 'pg';

export interface Probe {
  ok: boolean;
  /** Round-trip time, or the time until failure. */
  ms: number;
  error?: string;
}

export const commandRedisOptions: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  // Keeps reconnecting, at most every 2 s, for as long as the process lives.
  retryStrategy: (times) => Math.min(times * 100, 2000),
};

async function timed(run: () => Promise<unknown>, timeoutMs: number, what: string): Promise<Probe> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([run(), timeout]);
    return { ok: true, ms: performance.now() - start };
  } catch (err) {
    return { ok: false, ms: performance.now() - start, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function probePostgres(pool: pg.Pool, timeoutMs = 1000): Promise<Probe> {
  return timed(() => pool.query('SELECT 1'), timeoutMs, 'PostgreSQL');
}

export function probeRedis(redis: Redis, timeoutMs = 1000): Promise<Probe> {
  return timed(() => redis.ping(), timeoutMs, 'Redis');
}
