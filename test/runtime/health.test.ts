import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbeddedRuntime } from '../../src/runtime/index.js';
import { DB_FILE, SqliteJobStore } from '../../src/runtime/store/sqlite.js';
import { collect, config, Fixture, spec } from './helpers.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('stats, readiness and schema', () => {
  it('counts jobs by status and steps computed; ready until closed', async () => {
    const rt = await fx.runtime({ dataDir: fx.tempDir() });
    expect(await rt.ready()).toBe(true);
    const a = await rt.submit(spec({ training: { steps: 25 } }), null);
    const b = await rt.submit(spec({ training: { steps: 15 } }), null);
    await Promise.all([collect(rt, a.id), collect(rt, b.id)]);
    expect(rt.stats()).toEqual({
      queued: 0,
      running: 0,
      byStatus: { queued: 0, running: 0, succeeded: 2, failed: 0, cancelled: 0 },
      stepsComputed: 40,
      // Each job came alone (a free worker took it at once): one task each.
      tasksStarted: 2,
      workers: 2,
    });
    await rt.close();
    expect(await rt.ready()).toBe(false);
  });

  it('restores status counts from the store on start', async () => {
    const dataDir = fx.tempDir();
    const rt = await fx.runtime({ dataDir });
    await collect(rt, (await rt.submit(spec(), null)).id);
    await rt.close();
    const again = await fx.runtime({ dataDir });
    expect(again.stats().byStatus.succeeded).toBe(1);
  });

  it('versions the schema and refuses a database from a newer build', async () => {
    const dataDir = fx.tempDir();
    const store = new SqliteJobStore(dataDir);
    await store.close();
    const db = new Database(join(dataDir, DB_FILE));
    expect(db.pragma('user_version', { simple: true })).toBe(3); // 2: results carry a CRC (store/integrity.ts); 3: jobs their kernels
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.pragma('user_version = 99');
    db.close();
    await expect(createEmbeddedRuntime(config({ dataDir }))).rejects.toThrow(/schema version 99/);
  });
});
