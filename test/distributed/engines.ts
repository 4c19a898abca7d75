/**
 * The real PostgreSQL and Redis the distributed tests run against: TEST_DATABASE_URL and
 * TEST_REDIS_URL, defaulting to the local servers CI starts (.ci/run). Each test file isolates
 * itself: a PostgreSQL schema (or several) and a Redis key prefix of its own, named after a random
 * run id and removed when the file ends. When a server is unreachable, `skipReason` says so and the
 * suites that need it are skipped under a name that shows why.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Null when PostgreSQL answers; otherwise why the PostgreSQL tests are skipped. */
export async function postgresSkipReason(): Promise<string | null> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return `skipped: PostgreSQL unreachable at ${DATABASE_URL} (${(err as Error).message}); set TEST_DATABASE_URL`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Null when Redis answers; otherwise why the Redis tests are skipped. */
export async function redisSkipReason(): Promise<string | null> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (err) {
    return `skipped: Redis unreachable at ${REDIS_URL} (${(err as Error).message}); set TEST_REDIS_URL`;
  } finally {
    redis.disconnect();
  }
}

/** Schemas for one test file: `next()` names a fresh one, `dropAll()` removes every one named. */
export class TestSchemas {
  private readonly prefix = `gl_test_${randomBytes(4).toString('hex')}`;
  private readonly names: string[] = [];

  next(): string {
    const name = `${this.prefix}_${this.names.length}`;
    this.names.push(name);
    return name;
  }

  async dropAll(): Promise<void> {
    if (this.names.length === 0) return;
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      for (const name of this.names.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    } finally {
      await client.end();
    }
  }
}

/** A key prefix for one test file's Redis keys, and their removal. */
export function testKeyPrefix(): string {
  return `gl-test:${randomBytes(4).toString('hex')}:`;
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
