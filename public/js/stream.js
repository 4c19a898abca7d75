// A job's event stream over the WebSocket that survives drops: it reconnects with
// from = lastSeq + 1, and delivers each seq exactly once and in order.

import { authHeaders, eventsUrl, getApiKey, streamUrl } from './api.js';

const MAX_BACKOFF_MS = 5000;
// Consecutive connection attempts that deliver nothing before we give up and say so.
const MAX_FRUITLESS_ATTEMPTS = 8;

// Browsers cannot send an Authorization header on a WebSocket. When a key is set and the server
// refuses the upgrade, the same events are read as NDJSON over fetch (which can send the header),
// with the same resume-from-seq logic; remembered for the rest of the page's life.
let wsRefusedWithKey = false;

/**
 * @import { components } from '../../clients/ts/src/openapi.js'
 * @typedef {components['schemas']['JobEvent']} JobEvent
 * @typedef {components['schemas']['SweepEvent']} SweepEvent
 */

/**
 * Opens the stream of `jobId` from seq `from`. `onEvent(event)` gets every event once, in seq
 * order; `onState(state, detail)` gets 'connecting' | 'open' | 'reconnecting' | 'closed' | 'failed'.
 * Returns a handle with `close()`, `drop()` (closes the socket as a network failure would, so the
 * reconnect path runs) and `stats`. `resource: 'sweeps'` follows a sweep's cell events instead.
 * @param {string} jobId
 * @param {{
 *   from?: number,
 *   onEvent: (event: JobEvent | SweepEvent) => void,
 *   onState?: (state: string, detail?: string) => void,
 *   resource?: 'jobs' | 'sweeps',
 * }} options
 */
export function openStream(jobId, { from = 0, onEvent, onState = () => {}, resource = 'jobs' }) {
  let lastSeq = from - 1;
  let ws = null;
  let stopped = false;
  let finished = false;
  let fruitless = 0;
  let timer = null;
  const stats = { connects: 0, reconnects: 0, duplicates: 0, gaps: 0, lastCloseCode: null, transport: null };

  let abort = null;

  /** Handles one event from either transport; false when the transport must restart (a gap). */
  function deliver(event) {
    if (!event || typeof event.seq !== 'number') {
      if (event?.type === 'error') onState('failed', event.message ?? event.detail ?? 'stream error');
      return true;
    }
    if (event.seq <= lastSeq) {
      stats.duplicates += 1;
      return true;
    }
    if (event.seq > lastSeq + 1) {
      // A hole would break "every step exactly once": resume from the first missing seq instead.
      stats.gaps += 1;
      return false;
    }
    fruitless = 0;
    lastSeq = event.seq;
    if (event.type === 'done') finished = true;
    onEvent(event);
    return true;
  }

  function ended(code, delivered) {
    if (stopped || finished) {
      onState('closed', code);
      return;
    }
    if (code === 4404) {
      onState('failed', `the ${resource === 'sweeps' ? 'sweep' : 'job'} no longer exists`);
      return;
    }
    if (!delivered) fruitless += 1;
    if (fruitless >= MAX_FRUITLESS_ATTEMPTS) {
      onState('failed', `the stream closed ${fruitless} times without delivering (last code ${code})`);
      return;
    }
    stats.reconnects += 1;
    // 1013 means "you were too slow": the server has the events, come back at once.
    const delay = code === 1013 || delivered ? 0 : Math.min(MAX_BACKOFF_MS, 200 * 2 ** fruitless);
    onState('reconnecting', code);
    timer = setTimeout(connect, delay);
  }

  async function connectNdjson() {
    const controller = new AbortController();
    abort = controller;
    let delivered = false;
    let code = 1006;
    try {
      const res = await fetch(eventsUrl(jobId, lastSeq + 1, resource), {
        headers: authHeaders(),
        signal: controller.signal,
      });
      if (res.status === 404) code = 4404;
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState('open');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf('\n');
          if (!line) continue;
          let event;
          try {
            event = JSON.parse(line);
          } catch {
            continue;
          }
          if (!deliver(event)) {
            controller.abort();
            break;
          }
          delivered = true;
        }
      }
      code = 1000;
    } catch {
      // Aborted (drop, gap, close) or the connection failed: `ended` decides what comes next.
    }
    if (abort === controller) abort = null;
    stats.lastCloseCode = code;
    ended(code, delivered);
  }

  function connect() {
    timer = null;
    if (stopped) return;
    stats.connects += 1;
    onState(stats.connects === 1 ? 'connecting' : 'reconnecting');
    if (wsRefusedWithKey && getApiKey()) {
      stats.transport = 'ndjson';
      connectNdjson();
      return;
    }
    stats.transport = 'websocket';
    const socket = new WebSocket(streamUrl(jobId, lastSeq + 1, resource));
    let opened = false;
    ws = socket;
    let delivered = false;
    socket.addEventListener('open', () => {
      opened = true;
      if (ws === socket) onState('open');
    });
    socket.addEventListener('message', (msg) => {
      if (ws !== socket) return;
      let event;
      try {
        event = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (deliver(event)) {
        if (typeof event?.seq === 'number') delivered = true;
      } else {
        socket.close(4000, 'gap');
      }
    });
    socket.addEventListener('close', (ev) => {
      if (ws !== socket) return;
      stats.lastCloseCode = ev.code;
      ws = null;
      if (!opened && getApiKey() && !stopped) {
        // The upgrade was refused: with a key, most likely for want of the Authorization header.
        wsRefusedWithKey = true;
        timer = setTimeout(connect, 0);
        return;
      }
      ended(ev.code, delivered);
    });
  }

  connect();

  return {
    stats,
    get lastSeq() {
      return lastSeq;
    },
    get finished() {
      return finished;
    },
    /** Sends a message to the server (e.g. `{type: 'cancel'}`); false when not connected. */
    send(message) {
      if (ws?.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(message));
      return true;
    },
    drop() {
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(4001, 'dropped by client');
      abort?.abort();
    },
    close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      abort?.abort();
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'client done');
      ws = null;
    },
  };
}
