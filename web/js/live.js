// The browser's live feed: one WebSocket to /ws/live shared by every page,
// reconnecting with capped exponential backoff. The session cookie authenticates
// the upgrade (same origin, so SameSite=Strict cookies are sent).
//
// Messages are JSON objects with a "type" ("event", "visit", "worker", ...).
// The payload may sit under a key named after the type ({"type":"event",
// "event":{...}}), under "data", or at the top level; payloadOf() accepts all three.

export function payloadOf(msg) {
  if (msg && typeof msg === 'object') {
    if (msg[msg.type] && typeof msg[msg.type] === 'object') return msg[msg.type];
    if (msg.data && typeof msg.data === 'object') return msg.data;
  }
  return msg;
}

export class LiveFeed {
  constructor() {
    this.handlers = new Set();
    this.stateHandlers = new Set();
    this.ws = null;
    this.backoffMs = 500;
    this.stopped = true;
    this.timer = null;
    this.connected = false;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, 'signed out');
    this.ws = null;
    this.setConnected(false);
  }

  // fn(msg) for every message; returns an unsubscribe function.
  subscribe(fn) { this.handlers.add(fn); return () => this.handlers.delete(fn); }
  onState(fn) { this.stateHandlers.add(fn); fn(this.connected); return () => this.stateHandlers.delete(fn); }

  setConnected(v) {
    this.connected = v;
    for (const fn of this.stateHandlers) fn(v);
  }

  connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/ws/live`);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => { this.backoffMs = 500; this.setConnected(true); };
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      for (const fn of this.handlers) {
        try { fn(msg); } catch (err) { console.error('live feed handler', err); }
      }
    };
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      this.setConnected(false);
      if (!this.stopped) this.retry();
    };
  }

  retry() {
    clearTimeout(this.timer);
    const jitter = Math.random() * 0.3 * this.backoffMs;
    this.timer = setTimeout(() => this.connect(), this.backoffMs + jitter);
    this.backoffMs = Math.min(this.backoffMs * 2, 15000);
  }
}

export const liveFeed = new LiveFeed();
