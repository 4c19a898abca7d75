/**
 * The in-process queue, fair between single jobs and sweeps. Every queued job sits in a lane:
 * one lane for all single jobs, one per sweep. Lanes take turns (round-robin): each time a worker
 * frees, the next lane in turn that has work gives its oldest job, and a lane that was empty is
 * served next when work arrives. A single job submitted behind a 2,000-cell sweep therefore starts
 * as soon as a worker frees (and at worst after one cell of each other active lane), not after the
 * sweep; within a lane, jobs run in submission order.
 */
export const SINGLE_LANE = '';

interface Lane<T> {
  key: string;
  items: T[];
  head: number;
}

export class FairQueue<T extends { id: string }> {
  private readonly lanes = new Map<string, Lane<T>>();
  /** Lanes with work, in turn order; the next lane to serve is at `turn`. */
  private ring: Lane<T>[] = [];
  private turn = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T, lane: string = SINGLE_LANE): void {
    let l = this.lanes.get(lane);
    if (!l) {
      l = { key: lane, items: [], head: 0 };
      this.lanes.set(lane, l);
      // A lane that gets work is served next: a single job behind a sweep waits for running work only.
      this.ring.splice(this.turn, 0, l);
    }
    l.items.push(item);
    this.count++;
  }

  /** The job shift() would return next, left in place. */
  peek(): T | undefined {
    if (this.count === 0) return undefined;
    const lane = this.ring[this.turn];
    return lane.items[lane.head];
  }

  /**
   * Puts a job back at the head of its lane (a worker handed it back unstarted); a lane that was
   * empty is served next, as in push.
   */
  unshift(item: T, lane: string = SINGLE_LANE): void {
    const l = this.lanes.get(lane);
    if (!l) {
      this.push(item, lane);
      return;
    }
    if (l.head > 0) l.items[--l.head] = item;
    else l.items.unshift(item);
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const lane = this.ring[this.turn];
    const item = lane.items[lane.head++];
    this.count--;
    if (lane.head === lane.items.length) {
      this.lanes.delete(lane.key);
      this.ring.splice(this.turn, 1);
      if (this.turn >= this.ring.length) this.turn = 0;
    } else {
      this.turn = (this.turn + 1) % this.ring.length;
      // Compact now and then so a long lane does not keep every dispatched item alive.
      if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
        lane.items = lane.items.slice(lane.head);
        lane.head = 0;
      }
    }
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
      this.count--;
      if (lane.head === lane.items.length) {
        const r = this.ring.indexOf(lane);
        this.lanes.delete(lane.key);
        this.ring.splice(r, 1);
        if (r < this.turn) this.turn--;
        if (this.turn >= this.ring.length) this.turn = 0;
      }
      return true;
    }
    return false;
  }

  /** Jobs waiting in one lane (a sweep's cells not yet started). */
  laneSize(lane: string): number {
    const l = this.lanes.get(lane);
    return l ? l.items.length - l.head : 0;
  }
}
