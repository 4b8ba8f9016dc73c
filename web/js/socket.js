// The agent WebSocket: hello with last_event_id, resume after reconnects, resync on demand.
// States are explicit so the banner always tells the truth.
export const SocketState = Object.freeze({
  CONNECTING: 'connecting',
  LIVE: 'live',
  RETRYING: 'retrying',
  STOPPED: 'stopped',
});

// Backoff 0.5 s doubling to 15 s with jitter: fast recovery from a blip, gentle on an outage.
export function backoffDelay(attempt) {
  const base = Math.min(15000, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

// Ping every 25 s: below common 30 s proxy idle timeouts.
const PING_MS = 25000;

export class AgentSocket {
  constructor({ onEvent, onResync, onEphemeral, onState, onRevoked }) {
    this.handlers = { onEvent, onResync, onEphemeral, onState, onRevoked };
    this.lastEventId = null;
    this.state = SocketState.STOPPED;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.pinger = null;
    this.everLive = false;
    this.sticky = new Map(); // frames that describe our state (viewing, presence): resent on every ready
  }

  /** Send now if connected, and again after each reconnect: the server forgets a closed socket's state. */
  setSticky(key, frame) {
    this.sticky.set(key, frame);
    this.send(frame);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close(1000);
    this.setState(SocketState.STOPPED);
  }

  setState(state, detail) {
    this.state = state;
    if (this.handlers.onState) this.handlers.onState(state, detail);
  }

  connect() {
    if (this.stopped) return;
    this.setState(this.attempt === 0 ? SocketState.CONNECTING : SocketState.RETRYING);
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    let ws;
    try { ws = new WebSocket(url); } catch { this.scheduleRetry(); return; }
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', last_event_id: this.lastEventId }));
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = (e) => {
      clearInterval(this.pinger);
      if (this.ws === ws) this.ws = null;
      // 4401: this session was revoked (logout elsewhere, password change): no retry.
      if (e.code === 4401 && this.handlers.onRevoked) { this.stop(); this.handlers.onRevoked(); return; }
      if (!this.stopped) this.scheduleRetry();
    };
    ws.onerror = () => {}; // onclose follows and schedules the retry
  }

  scheduleRetry() {
    clearTimeout(this.timer);
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.setState(SocketState.RETRYING, { delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  receive(raw) {
    let frame;
    try { frame = JSON.parse(raw); } catch { return; }
    // Several frames sent in one write (replays, bursts): handle each in order.
    if (frame.type === 'batch' && Array.isArray(frame.frames)) {
      for (const f of frame.frames) this.handle(f);
    } else {
      this.handle(frame);
    }
  }

  handle(frame) {
    switch (frame.type) {
      case 'ready': {
        const resumed = Boolean(frame.resumed);
        const wasLive = this.everLive;
        this.attempt = 0;
        this.everLive = true;
        if (frame.last_event_id !== undefined && frame.last_event_id !== null && !resumed) {
          this.lastEventId = frame.last_event_id;
        }
        for (const f of this.sticky.values()) this.send(f);
        this.setState(SocketState.LIVE);
        clearInterval(this.pinger);
        this.pinger = setInterval(() => this.send({ type: 'ping' }), PING_MS);
        // A first connection, or a reconnect that could not resume, may have missed events.
        if (wasLive && !resumed && this.handlers.onResync) this.handlers.onResync('not_resumed');
        break;
      }
      case 'event':
        if (frame.id !== undefined) this.lastEventId = frame.id;
        if (this.handlers.onEvent) this.handlers.onEvent(frame.event, frame.id);
        break;
      case 'resync_required':
        this.lastEventId = frame.last_event_id ?? null;
        if (this.handlers.onResync) this.handlers.onResync(frame.reason);
        break;
      case 'pong':
        break;
      default:
        if (this.handlers.onEphemeral) this.handlers.onEphemeral(frame);
    }
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }
}
