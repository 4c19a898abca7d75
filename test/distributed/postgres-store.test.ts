/**
 * What the PostgreSQL stores do beyond the conformance suite: migrations that many processes start
 * at once, a schema newer than the build, and retention run by several API processes together.
 */

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { JobSpec } from '../../src/contract/spec.js';
import { newId } from '../../src/runtime/ids.js';
import { PostgresJobStore } from '../../src/runtime/store/postgres.js';
import { createPool, MIGRATIONS, migrate } from '../../src/runtime/store/postgres-schema.js';
import type { StoredJob, StoredResult } from '../../src/runtime/store/types.js';
import { Telemetry } from '../../src/runtime/telemetry.js';
import { DATABASE_URL, postgresSkipReason, TestSchemas } from './engines.js';

const skip = await postgresSkipReason();
const schemas = new TestSchemas();
afterAll(() => schemas.dropAll());

const spec = JobSpec.parse({ network: { kind: 'linear', depth: 2 }, training: { steps: 3 } });

function endedJob(endedAt: string): StoredJob {
  return {
    id: newId(),
    name: null,
    status: 'succeeded',
    owner: null,
    sweepId: null,
    spec,
    createdAt: endedAt,
    startedAt: endedAt,
    endedAt,
    step: 0,
    summary: null,
    error: null,
    lastSeq: 0,
    kernels: 'exact',
  };
}

const emptyResult = (): StoredResult => ({
  series: Telemetry.empty().toBlob(),
  nonFinite: null,
  done: { type: 'done', seq: 0, status: 'succeeded', summary: null },
});

describe.skipIf(Boolean(skip))(`PostgreSQL stores${skip ? ` (${skip})` : ''}`, () => {
  it('migrates once when eight processes start on an empty schema at the same moment', async () => {
    const schema = schemas.next();
    const pools = Array.from({ length: 8 }, () => createPool({ connectionString: DATABASE_URL, schema, max: 2 }));
    try {
      const versions = await Promise.all(pools.map((p) => migrate(p, schema)));
      expect(versions).toEqual(pools.map(() => MIGRATIONS.length));
      const { rows } = await pools[0].query<{ version: number }>(
        'SELECT version FROM schema_migrations ORDER BY version',
      );
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
      // Applied again: nothing to do, nothing fails.
      expect(await migrate(pools[0], schema)).toBe(MIGRATIONS.length);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('refuses a schema newer than this build', async () => {
    const schema = schemas.next();
    const pool = createPool({ connectionString: DATABASE_URL, schema, max: 1 });
    try {
      await migrate(pool, schema);
      await pool.query('INSERT INTO schema_migrations (version) VALUES ($1)', [MIGRATIONS.length + 1]);
      await expect(migrate(pool, schema)).rejects.toThrow(/newer than this build/);
      const store = new PostgresJobStore({ connectionString: DATABASE_URL, schema });
      await expect(store.ready()).rejects.toThrow(/newer than this build/);
      await expect(store.get('x')).rejects.toThrow(/newer than this build/);
      await store.close();
    } finally {
      await pool.end();
    }
  });

  it('rejects an unsafe schema name before any SQL is built from it', () => {
    expect(() => createPool({ connectionString: DATABASE_URL, schema: 'x; DROP TABLE jobs' })).toThrow(
      /invalid PostgreSQL schema name/,
    );
  });

  it('three API processes evicting at once delete the excess once, each job reported by one of them', async () => {
    const schema = schemas.next();
    const stores = [0, 1, 2].map(() => new PostgresJobStore({ connectionString: DATABASE_URL, schema, max: 2 }));
    try {
      const base = Date.parse('2026-01-01T00:00:00Z');
      const jobs = Array.from({ length: 20 }, (_, i) => endedJob(new Date(base + i * 1000).toISOString()));
      for (const j of jobs) {
        await stores[0].insert({ ...j, status: 'running' });
        await stores[0].finish(j, emptyResult());
      }
      const gone = (await Promise.all(stores.map((s) => s.evict({ ttlMs: null, maxJobs: 12, now: base })))).flat();
      expect(gone.map((j) => j.id).sort()).toEqual(jobs.slice(0, 8).map((j) => j.id));
      expect((await stores[1].countByStatus()).succeeded).toBe(12);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('stores the series as BYTEA, one row per job', async () => {
    const schema = schemas.next();
    const store = new PostgresJobStore({ connectionString: DATABASE_URL, schema });
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      const j = endedJob(new Date().toISOString());
      await store.insert({ ...j, status: 'running' });
      await store.finish(j, emptyResult());
      const { rows } = await client.query(
        `SELECT table_name, column_name, data_type FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = 'results' AND column_name IN ('steps', 'vals', 'hidden')
         ORDER BY column_name`,
        [schema],
      );
      expect(rows.map((r) => r.data_type)).toEqual(['bytea', 'bytea', 'bytea']);
      const { rows: n } = await client.query(`SELECT count(*)::int AS n FROM ${schema}.results`);
      expect(n[0].n).toBe(1);
    } finally {
      await client.end();
      await store.close();
    }
  });
});
