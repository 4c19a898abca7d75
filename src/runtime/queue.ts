/**
 * The in-process queue, fair across API keys and, within a key, between its single jobs and each
 * of its sweeps. Every queued job sits in a lane; a lane belongs to a group (the lane key's part
 * before LANE_GROUP_SEPARATOR: the owner's key, see laneKey; a key without the separator is a
 * group of its own). Groups take turns (round-robin), and within a group its lanes take turns:
 * each time a worker frees, the next group in turn gives the oldest job of its next lane in turn.
 * A group or lane that was empty is served next when work arrives. So a single job submitted
 * behind a 2,000-cell sweep starts as soon as a worker frees, and a user with sixteen sweeps
 * queued gets one turn in the ring like a user with one job (issue 11, defect 5); within a lane,
 * jobs run in submission order.
 */
export const SINGLE_LANE = '';

/** Separates the group (owner) from the lane within it in a lane key. */
export const LANE_GROUP_SEPARATOR = '\u0001';

/** The lane of a job: grouped by owner (null: no API keys), then single jobs vs each sweep. */
export function laneKey(owner: string | null, sweepId: string | null): string {
  return `${laneGroup(owner)}${LANE_GROUP_SEPARATOR}${sweepId === null ? SINGLE_LANE : `sweep:${sweepId}`}`;
}

/** The group of an owner's lanes (for groupSize). */
export function laneGroup(owner: string | null): string {
  return owner ?? '';
}

interface Lane<T> {
  key: string;
  group: Group<T>;
  items: T[];
  head: number;
}

interface Group<T> {
  key: string;
  /** Jobs waiting in the group's lanes. */
  count: number;
  /** Lanes of the group with work, in turn order; the next to serve is at `turn`. */
  ring: Lane<T>[];
  turn: number;
}

function groupOf(lane: string): string {
  const at = lane.indexOf(LANE_GROUP_SEPARATOR);
  return at < 0 ? lane : lane.slice(0, at);
}

export class FairQueue<T extends { id: string }> {
  private readonly lanes = new Map<string, Lane<T>>();
  private readonly groups = new Map<string, Group<T>>();
  /** Groups with work, in turn order; the next group to serve is at `turn`. */
  private ring: Group<T>[] = [];
  private turn = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T, lane: string = SINGLE_LANE): void {
    const l = this.laneFor(lane);
    l.items.push(item);
    l.group.count++;
    this.count++;
  }

  /** Jobs waiting in all lanes of one group (an owner's, see laneKey). */
  groupSize(group: string): number {
    return this.groups.get(group)?.count ?? 0;
  }

  /** The job shift() would return next, left in place. */
  peek(): T | undefined {
    if (this.count === 0) return undefined;
    const group = this.ring[this.turn];
    const lane = group.ring[group.turn];
    return lane.items[lane.head];
  }

  /**
   * Puts a job back at the head of its lane (a worker handed it back unstarted); a lane that was
   * empty is served next, as in push.
   */
  unshift(item: T, lane: string = SINGLE_LANE): void {
    const l = this.laneFor(lane);
    if (l.head > 0) l.items[--l.head] = item;
    else l.items.unshift(item);
    l.group.count++;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const group = this.ring[this.turn];
    const lane = group.ring[group.turn];
    const item = lane.items[lane.head++];
    group.count--;
    this.count--;
    if (lane.head === lane.items.length) {
      this.dropLane(lane, group.turn);
    } else {
      group.turn = (group.turn + 1) % group.ring.length;
      // Compact now and then so a long lane does not keep every dispatched item alive.
      if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
        lane.items = lane.items.slice(lane.head);
        lane.head = 0;
      }
    }
    // The group may have been dropped with its last lane; then `turn` already points at the next.
    if (this.groups.has(group.key) && this.ring.length > 0) this.turn = (this.turn + 1) % this.ring.length;
    return item;
  }

  /** Removes a queued job; false when it is not queued. */
  remove(id: string): boolean {
    for (const lane of this.lanes.values()) {
      let i = -1;
      for (let k = lane.head; k < lane.items.length; k++) {
        if (lane.items[k].id === id) {
          i = k;
          break;
        }
      }
      if (i < 0) continue;
      lane.items.splice(i, 1);
      lane.group.count--;
      this.count--;
      if (lane.head === lane.items.length) this.dropLane(lane, lane.group.ring.indexOf(lane));
      return true;
    }
    return false;
  }

  /** Jobs waiting in one lane (a sweep's cells not yet started). */
  laneSize(lane: string): number {
    const l = this.lanes.get(lane);
    return l ? l.items.length - l.head : 0;
  }

  /** The lane, made (and served next, in a group served next) when it had no work. */
  private laneFor(key: string): Lane<T> {
    const existing = this.lanes.get(key);
    if (existing) return existing;
    const gkey = groupOf(key);
    let group = this.groups.get(gkey);
    if (!group) {
      group = { key: gkey, count: 0, ring: [], turn: 0 };
      this.groups.set(gkey, group);
      // A group that gets work is served next: a single job behind a sweep waits for running work only.
      this.ring.splice(this.turn, 0, group);
    }
    const lane: Lane<T> = { key, group, items: [], head: 0 };
    this.lanes.set(key, lane);
    group.ring.splice(group.turn, 0, lane);
    return lane;
  }

  /** Removes an emptied lane at index `at` of its group's ring, and the group once it has no lane. */
  private dropLane(lane: Lane<T>, at: number): void {
    const group = lane.group;
    this.lanes.delete(lane.key);
    group.ring.splice(at, 1);
    if (at < group.turn) group.turn--;
    if (group.turn >= group.ring.length) group.turn = 0;
    if (group.ring.length > 0) return;
    this.groups.delete(group.key);
    const r = this.ring.indexOf(group);
    this.ring.splice(r, 1);
    if (r < this.turn) this.turn--;
    if (this.turn >= this.ring.length) this.turn = 0;
  }
}
