/**
 * Fair scheduling on top of BullMQ (docs/scaling.md). BullMQ's open-source queue is FIFO (its
 * groups are a paid feature): a 10,000-cell sweep enqueued first would make a single job submitted
 * after it wait for all 10,000 cells. So jobs do not go to BullMQ when they are submitted; they wait
 * in their lane (a Redis list per lane: an owner, a sweep), and a dispatcher feeds BullMQ from the
 * lanes round-robin, keeping at most `window` jobs of each lane inside BullMQ (waiting or running).
 * A job of a new lane then enters BullMQ behind at most `window` jobs of each other lane: with the
 * window about the workers' total concurrency, it starts within a few cells' time.
 *
 * Keys (under `prefix`): `lanes` (set of lanes with work), `lane:<lane>` (list of waiting ids),
 * `inflight:<lane>` (set of ids handed to BullMQ and not done), `jobdata` (hash id → payload),
 * `lane-cursor` (where the next round-robin pass starts).
 *
 * Picking is one Lua script (atomic: any number of API processes may pump at once; no id is picked
 * twice and no window is exceeded). An id enters `inflight:<lane>` in the same step it leaves its
 * lane, and is added to BullMQ afterwards under its own id as BullMQ jobId (so adding it twice is a
 * no-op). A process that dies between the two leaves the id in `inflight` with its payload:
 * `reconcile` adds such ids to BullMQ again. `done` (called by the worker once the job's result is
 * committed, before its processor returns) frees the window slot.
 *
 * The scripts build key names from the prefix: they assume one Redis, not a Redis Cluster.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

const PICK = `
local prefix = ARGV[1]
local window = tonumber(ARGV[2])
local lanes = redis.call('SMEMBERS', prefix .. 'lanes')
local n = #lanes
if n == 0 then return {} end
table.sort(lanes)
local start = redis.call('INCR', prefix .. 'lane-cursor') % n
local out = {}
local progress = true
while progress do
  progress = false
  for i = 0, n - 1 do
    local lane = lanes[((start + i) % n) + 1]
    local inflight = prefix .. 'inflight:' .. lane
    if redis.call('SCARD', inflight) < window then
      local id = redis.call('LPOP', prefix .. 'lane:' .. lane)
      if id then
        redis.call('SADD', inflight, id)
        out[#out + 1] = lane
        out[#out + 1] = id
        out[#out + 1] = redis.call('HGET', prefix .. 'jobdata', id) or '{}'
        progress = true
      end
    end
  end
end
for i = 1, n do
  local lane = lanes[i]
  if redis.call('LLEN', prefix .. 'lane:' .. lane) == 0 and redis.call('SCARD', prefix .. 'inflight:' .. lane) == 0 then
    redis.call('SREM', prefix .. 'lanes', lane)
  end
end
return out
`;

export interface LaneJob<T> {
  lane: string;
  id: string;
  data: T;
}

export interface LaneDispatcherOptions {
  /** Key prefix of the dispatcher's own keys. */
  prefix: string;
  /** Jobs of one lane inside BullMQ at most (waiting or running). */
  window: number;
}

export class LaneDispatcher<T extends object> {
  private pumping: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly redis: Redis,
    private readonly queue: Queue,
    private readonly options: LaneDispatcherOptions,
  ) {}

  private k(name: string): string {
    return `${this.options.prefix}${name}`;
  }

  /** Puts a job at the end of its lane, then dispatches what the windows allow. */
  async submit(lane: string, id: string, data: T): Promise<void> {
    await this.redis
      .multi()
      .hset(this.k('jobdata'), id, JSON.stringify(data))
      .rpush(this.k(`lane:${lane}`), id)
      .sadd(this.k('lanes'), lane)
      .exec();
    await this.pump();
  }

  /**
   * Takes a job out of its lane if it is still waiting there (it never reaches BullMQ, never
   * starts); false when it has already been handed to BullMQ.
   */
  async withdraw(lane: string, id: string): Promise<boolean> {
    const [[, removed]] = ((await this.redis
      .multi()
      .lrem(this.k(`lane:${lane}`), 0, id)
      .exec()) ?? [[null, 0]]) as [[Error | null, number]];
    if (removed > 0) await this.redis.hdel(this.k('jobdata'), id);
    return removed > 0;
  }

  /** The job ended and its result is committed: frees its lane's window slot. */
  async done(lane: string, id: string): Promise<void> {
    await this.redis
      .multi()
      .srem(this.k(`inflight:${lane}`), id)
      .hdel(this.k('jobdata'), id)
      .exec();
    await this.pump();
  }

  /** Jobs waiting in a lane (not yet in BullMQ). */
  async waiting(lane: string): Promise<number> {
    return this.redis.llen(this.k(`lane:${lane}`));
  }

  /** Ids of a lane handed to BullMQ and not done. */
  async inflight(lane: string): Promise<string[]> {
    return this.redis.smembers(this.k(`inflight:${lane}`));
  }

  /**
   * Hands BullMQ every job the windows allow. Calls made while a pass runs are folded into one more
   * pass after it.
   */
  pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      try {
        do {
          this.again = false;
          const picked = await this.pick();
          await this.enqueue(picked);
        } while (this.again);
      } finally {
        this.pumping = null;
      }
    })();
    return this.pumping;
  }

  /** Picks without enqueueing (what a process that dies mid-pump leaves behind); for tests. */
  async pick(): Promise<LaneJob<T>[]> {
    const flat = (await this.redis.eval(PICK, 0, this.options.prefix, this.options.window)) as string[];
    const out: LaneJob<T>[] = [];
    for (let i = 0; i < flat.length; i += 3)
      out.push({ lane: flat[i], id: flat[i + 1], data: JSON.parse(flat[i + 2]) as T });
    return out;
  }

  /**
   * After a crash: every id in flight that BullMQ does not have is added again (in flight but not
   * in BullMQ = picked by a process that died before adding it). Returns how many were re-added.
   */
  async reconcile(): Promise<number> {
    const lanes = await this.redis.smembers(this.k('lanes'));
    const lost: LaneJob<T>[] = [];
    for (const lane of lanes) {
      for (const id of await this.inflight(lane)) {
        if (await this.queue.getJob(id)) continue;
        const data = await this.redis.hget(this.k('jobdata'), id);
        // No payload: done() already ran; the id is stale.
        if (data === null) await this.redis.srem(this.k(`inflight:${lane}`), id);
        else lost.push({ lane, id, data: JSON.parse(data) as T });
      }
    }
    await this.enqueue(lost);
    return lost.length;
  }

  private async enqueue(jobs: LaneJob<T>[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map((j) => ({
        name: 'run',
        data: { lane: j.lane, id: j.id, payload: j.data },
        opts: { jobId: j.id, removeOnComplete: true, removeOnFail: true },
      })),
    );
  }
}
