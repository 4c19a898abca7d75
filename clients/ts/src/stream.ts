/**
 * Following a job's or a sweep's events over the WebSocket, through drops. The server sends each
 * event once, in seq order, from the `from` the client asks for, then `done`, then closes with
 * 1000 (docs/api.md, "Streams"). A connection that ends any other way (a network drop, 1013 for a
 * reader that fell behind, 1001 for a server restart) is reopened with `from` = last seq + 1, so
 * the caller sees every event exactly once. Uses the standard WebSocket (browsers, Node ≥ 22).
 */

export interface StreamEvent {
  seq: number;
  type: string;
}

export interface FollowOptions {
  /** First seq wanted (default 0). */
  from?: number;
  /** Sent as `access_token` (a browser cannot set headers on a WebSocket). */
  apiKey?: string;
  /** Consecutive connections that deliver nothing before giving up (default 5). */
  maxRetries?: number;
  /** Wait before the first reconnect; doubles per consecutive failure (default 250 ms). */
  retryDelayMs?: number;
  /** Stops following (the generator returns). */
  signal?: AbortSignal;
  /** Called before each reconnect, with the seq asked for and how the last connection closed. */
  onReconnect?: (info: { from: number; closeCode: number }) => void;
  /** A WebSocket constructor (default: the global one). */
  WebSocket?: typeof WebSocket;
}

/** The stream ended without `done` and could not be resumed, or the resource is gone. */
export class StreamError extends Error {
  constructor(
    message: string,
    readonly closeCode: number,
  ) {
    super(message);
    this.name = 'StreamError';
  }
}

/** Close code the server uses when the job or sweep was deleted while streaming. */
const GONE = 4404;

type Item = { kind: 'message'; data: string } | { kind: 'closed'; code: number };

/** One connection as a queue of messages ending with its close. */
function open(WS: typeof WebSocket, url: string) {
  const items: Item[] = [];
  let wake: (() => void) | null = null;
  const push = (item: Item) => {
    items.push(item);
    wake?.();
    wake = null;
  };
  const ws = new WS(url);
  let closed = false;
  ws.onmessage = (e) => push({ kind: 'message', data: String(e.data) });
  ws.onclose = (e) => {
    if (closed) return;
    closed = true;
    push({ kind: 'closed', code: e.code });
  };
  // An error is always followed by a close event; the close carries the code.
  ws.onerror = () => {};
  return {
    async take(): Promise<Item> {
      while (items.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return items.shift()!;
    },
    close() {
      if (ws.readyState === ws.CONNECTING || ws.readyState === ws.OPEN) ws.close(1000);
    },
    interrupt() {
      push({ kind: 'closed', code: 1000 });
      closed = true;
    },
  };
}

/**
 * Yields the events of the stream at `url` (a ws:// or wss:// …/stream URL) from `from` on, each
 * once, and returns after `done`. Throws StreamError when the resource is gone or after
 * `maxRetries` connections in a row delivered nothing.
 */
export async function* followEvents<E extends StreamEvent>(
  url: string,
  options: FollowOptions = {},
): AsyncGenerator<E, void, undefined> {
  const WS = options.WebSocket ?? globalThis.WebSocket;
  const maxRetries = options.maxRetries ?? 5;
  const baseDelay = options.retryDelayMs ?? 250;
  let next = options.from ?? 0;
  let failures = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    const target = new URL(url);
    target.searchParams.set('from', String(next));
    if (options.apiKey) target.searchParams.set('access_token', options.apiKey);
    const conn = open(WS, target.toString());
    const onAbort = () => conn.interrupt();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let delivered = false;
    let closeCode = 1006;
    try {
      for (;;) {
        const item = await conn.take();
        if (item.kind === 'closed') {
          closeCode = item.code;
          break;
        }
        const event = JSON.parse(item.data) as E;
        // The server never repeats a seq after `from`; this guards a resume that raced a late message.
        if (event.seq < next) continue;
        next = event.seq + 1;
        delivered = true;
        failures = 0;
        yield event;
        if (event.type === 'done') return;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      conn.close();
    }
    if (options.signal?.aborted) return;
    if (closeCode === GONE) throw new StreamError(`${url}: deleted while streaming`, closeCode);
    if (!delivered) failures += 1;
    if (failures > maxRetries) {
      throw new StreamError(`${url}: ${failures} connections in a row ended without an event`, closeCode);
    }
    options.onReconnect?.({ from: next, closeCode });
    if (failures > 0) await new Promise((r) => setTimeout(r, baseDelay * 2 ** Math.min(failures - 1, 5)));
  }
}
