// The /stream WebSocket (protocol 1, docs/websocket.md) with reconnection and resume.
//
// Contract:
// * Subscriptions are kept by the client, not the socket: each is (re)sent after every
//   welcome, so a reconnect restores all of them.
// * A subscription of durable kinds (order, trade, position, account, quote) remembers the last
//   `seq` it received (per engine for engine "*"); after a reconnect it is re-sent with
//   `resume_from` that seq, so no durable event is lost and none is seen twice.
// * Its first subscribe, and a resume the gateway refuses with 410 (events gone or the
//   stream recreated), go through the subscription's `resync(engine)` callback when it has
//   one: the callback reloads the state over REST and returns the Wt-Stream-Seq to resume
//   from. Without one a 410 falls back to a snapshot subscribe (or live-only when the spec
//   does not ask for snapshots) and a "gap" event says events may have been missed.
// * Reconnects back off exponentially with jitter (0.5 s doubling to 30 s by default),
//   reset once a connection has held for 10 s. A socket that never got its welcome makes the client check its
//   token over REST (refresh, else "auth-required": nothing more is tried until start()).
// * Liveness: a ping every idle_timeout/3 s keeps the session; no frame at all for three
//   heartbeats drops the socket and reconnects.
// Events (EventTarget, CustomEvent detail): "state" {state, attempt, delay, reason},
// "welcome" frame, "engine" frame, "nats" frame, "events" {events}, "resumed"
// {subscription, engine, from}, "gap" {subscription, engine, detail}, "resync-failed"
// {subscription, engine, error, delay} (tried again after delay), "error" frame
// (errors not answered to a request), "auth-required" {reason}.

const DURABLE = new Set(["order", "trade", "position", "account", "quote"]); // schemas/streams.py
const WILDCARDS = new Set(["*", ">"]);
const GONE = 410;
const STABLE_MS = 10000; // a connection open this long resets the backoff

/** Reconnect delays: initial ms, doubled per failed attempt up to max ms, +/- jitter. */
export const DEFAULT_BACKOFF = Object.freeze({ initial: 500, max: 30000, factor: 2, jitter: 0.2 });

/** The delay before reconnect attempt `attempt` (0-based). */
export function backoffDelay(attempt, backoff = DEFAULT_BACKOFF, random = Math.random) {
  const base = Math.min(backoff.max, backoff.initial * backoff.factor ** attempt);
  return Math.round(base * (1 + backoff.jitter * (2 * random() - 1)));
}

/** The engine id of an event subject `wt.{engine}.evt....`. */
export function engineOf(subject) {
  return subject.split(".", 2)[1];
}

/** Whether a subscribe spec covers durable kinds (so it may carry resume_from). */
export function isDurable(spec) {
  if (spec.kind) return DURABLE.has(spec.kind);
  const first = (spec.topic || "").split(".")[0];
  return DURABLE.has(first) || WILDCARDS.has(first);
}

/** A request the socket closed under; the subscription is re-sent on the next connect. */
export class ConnectionLost extends Error {}

/** One subscription as the application sees it; survives reconnects. */
export class Subscription {
  constructor(stream, spec, { onEvent, resync } = {}) {
    this.stream = stream;
    this.spec = spec; // {engine, topic} or {engine, kind, vt_symbol}, optional snapshot
    this.onEvent = onEvent || (() => {});
    this.resync = resync || null;
    this.durable = isDurable(spec);
    this.allEngines = spec.engine === "*";
    this.seq = this.allEngines ? {} : null; // last seq received (per engine for "*")
    this.sub = null; // the server's id on the current socket
    this.failures = 0; // resync attempts that failed in a row
    this.active = true;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {}); // a caller that does not wait must not see an unhandled rejection
  }

  /** The resume point to send, or null when there is none yet. */
  resumePoint() {
    if (!this.allEngines) return this.seq;
    return Object.keys(this.seq).length ? { ...this.seq } : null;
  }

  /** Record the last seq seen for `engine`. */
  advance(engine, seq) {
    if (typeof seq !== "number") return;
    if (this.allEngines) this.seq[engine] = Math.max(this.seq[engine] ?? -1, seq);
    else this.seq = Math.max(this.seq ?? -1, seq);
  }

  /** Forget the resume point (after a 410). */
  forget() {
    this.seq = this.allEngines ? {} : null;
  }

  /** Stop the subscription (here and, when connected, on the server). */
  unsubscribe() {
    return this.stream.unsubscribe(this);
  }
}

export class Stream extends EventTarget {
  /**
   * @param {{url: () => string, token: () => string|null, checkAuth: () => Promise<void>,
   *          refreshToken: () => Promise<string>, backoff?: object}} options
   *   `url()` the ws(s) URL of /stream without the token; `checkAuth()` rejects with an
   *   error whose `status` is 401 when the login is no longer valid
   */
  constructor({ url, token, checkAuth, refreshToken, backoff }) {
    super();
    this.urlOf = url;
    this.tokenOf = token;
    this.checkAuth = checkAuth;
    this.refreshToken = refreshToken;
    this.backoff = { ...DEFAULT_BACKOFF, ...(backoff || {}) };
    this.subscriptions = new Set();
    this.bySub = new Map();
    this.pending = new Map();
    this.nextId = 1;
    this.ws = null;
    this.state = "idle";
    this.attempt = 0;
    this.retryTimer = null;
    this.keepalive = null;
    this.watchdog = null;
    this.lastFrameAt = 0;
    this.openedAt = 0;
    this.welcome = null;
    this.stopped = true;
    this.onOnline = () => this.reconnectNow();
  }

  /** Connect (again); the subscriptions made so far are restored. */
  start() {
    this.stopped = false;
    if (typeof window !== "undefined") window.addEventListener("online", this.onOnline);
    if (!this.ws && !this.retryTimer) this.connect();
  }

  /** Close for good (until start()). Subscriptions are kept. */
  stop() {
    this.stopped = true;
    if (typeof window !== "undefined") window.removeEventListener("online", this.onOnline);
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.dropSocket(1000, "client closed");
    this.setState("closed");
  }

  /** Skip the backoff wait and reconnect at once (no-op while connected). */
  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  /**
   * Subscribe; the subscription is sent now if connected, else on connect.
   * @param {object} spec {engine, topic} or {engine, kind, vt_symbol}; `snapshot: true`
   * @param {{onEvent?: (event) => void, resync?: (engine: string) => Promise<number|null>}} handlers
   *   `onEvent` gets {sub, subject, seq?, data, engine}; `resync` reloads state over REST
   *   and returns the seq to resume from (durable kinds, one engine)
   * @returns {Subscription} whose `ready` settles with the first ack or error
   */
  subscribe(spec, handlers = {}) {
    const subscription = new Subscription(this, spec, handlers);
    this.subscriptions.add(subscription);
    if (this.welcome) this.send(subscription).catch(() => {});
    return subscription;
  }

  /** Remove a subscription; resolves once the server acknowledged (or at once offline). */
  async unsubscribe(subscription) {
    subscription.active = false;
    this.subscriptions.delete(subscription);
    const sub = subscription.sub;
    subscription.sub = null;
    if (sub === null) return;
    this.bySub.delete(sub);
    if (this.welcome) {
      try {
        await this.request({ op: "unsubscribe", sub });
      } catch {
        // gone with the socket, or already unknown to the server: either way unsubscribed
      }
    }
  }

  /** Send a refreshed access token over the open socket (op "refresh"). */
  async sendToken(token) {
    if (!this.welcome) return;
    try {
      await this.request({ op: "refresh", token });
    } catch {
      // older gateways do not know the op; the next reconnect carries the new token
    }
  }

  // --- connection ------------------------------------------------------------------

  connect() {
    this.retryTimer = null;
    const token = this.tokenOf();
    if (!token) {
      this.needAuth("not logged in");
      return;
    }
    const url = new URL(this.urlOf());
    url.searchParams.set("token", token);
    this.setState("connecting");
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (message) => this.onFrame(ws, message.data);
    ws.onclose = (event) => this.onClose(ws, event.code, event.reason);
    ws.onerror = () => {}; // a close event always follows
  }

  onFrame(ws, raw) {
    if (ws !== this.ws) return;
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    switch (frame.type) {
      case "welcome":
        this.onWelcome(frame);
        break;
      case "events":
        this.onEvents(frame.events);
        break;
      case "ack":
      case "pong":
        this.settle(frame, null);
        break;
      case "error":
        if (!this.settle(frame, frame)) this.emit("error", frame);
        break;
      case "snapshot_end": {
        const subscription = this.bySub.get(frame.sub);
        if (subscription) subscription.advance(frame.engine, frame.seq);
        break;
      }
      case "engine":
      case "nats":
        this.emit(frame.type, frame);
        break;
      default:
        break; // heartbeat, and frames of later protocol versions
    }
  }

  onWelcome(frame) {
    this.welcome = frame;
    this.openedAt = Date.now();
    this.setState("open");
    this.emit("welcome", frame);
    const idle = (frame.idle_timeout || 0) * 1000;
    if (idle > 0) this.keepalive = setInterval(() => this.ping(), idle / 3);
    this.armWatchdog();
    for (const subscription of this.subscriptions) this.send(subscription).catch(() => {});
  }

  onEvents(events) {
    for (const event of events) {
      const subscription = this.bySub.get(event.sub);
      if (!subscription) continue;
      event.engine = engineOf(event.subject);
      subscription.advance(event.engine, event.seq);
      try {
        subscription.onEvent(event);
      } catch (error) {
        console.error("webtrader: event handler failed", error);
      }
    }
    this.emit("events", { events });
  }

  onClose(ws, code, reason) {
    if (ws !== this.ws) return;
    const hadWelcome = this.welcome !== null;
    // the backoff starts over only after a connection that held (not one closed at once)
    if (hadWelcome && Date.now() - this.openedAt >= STABLE_MS) this.attempt = 0;
    this.detach();
    if (this.stopped) return;
    if (code === 1008) {
      // the session's token expired: refresh, then reconnect (at once the first time)
      this.refreshToken().then(
        () => this.retry(code, reason),
        (error) => this.needAuth(error.message || "access token expired"),
      );
      return;
    }
    if (!hadWelcome) {
      // refused handshake (bad token: HTTP 401) or no server: ask REST which one
      this.setState("reconnecting", { code, reason });
      this.checkAuth().then(
        () => this.retry(code, reason),
        (error) => {
          if (error && error.status === 401) this.needAuth(error.message);
          else this.retry(code, reason);
        },
      );
      return;
    }
    this.retry(code, reason);
  }

  retry(code, reason) {
    if (this.stopped || this.ws || this.retryTimer) return;
    // the first attempt after a code-1008 refresh goes at once, later ones back off
    const delay =
      code === 1008 && this.attempt === 0 ? 0 : backoffDelay(this.attempt, this.backoff);
    this.attempt += 1;
    this.setState("reconnecting", { delay, code, reason, retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  needAuth(reason) {
    this.stopped = true;
    this.setState("auth-required", { reason });
    this.emit("auth-required", { reason });
  }

  /** Forget the socket: pending requests fail, subscriptions wait for the next welcome. */
  detach() {
    this.ws = null;
    this.welcome = null;
    clearInterval(this.keepalive);
    clearInterval(this.watchdog);
    this.bySub.clear();
    for (const subscription of this.subscriptions) subscription.sub = null;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const { reject } of pending) reject(new ConnectionLost("connection lost"));
  }

  dropSocket(code, reason) {
    const ws = this.ws;
    if (!ws) return;
    this.detach();
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
  }

  armWatchdog() {
    clearInterval(this.watchdog);
    const heartbeat = this.welcome ? (this.welcome.heartbeat || 0) * 1000 : 0;
    if (heartbeat <= 0) return;
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastFrameAt < heartbeat * 3) return;
      this.dropSocket(4000, "no heartbeat");
      this.retry(4000, "no frame from the server for three heartbeats");
    }, heartbeat);
  }

  ping() {
    this.request({ op: "ping" }).catch(() => {});
  }

  // --- requests --------------------------------------------------------------------

  request(op) {
    const ws = this.ws;
    if (!ws || !this.welcome) return Promise.reject(new ConnectionLost("not connected"));
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ ...op, id }));
    });
  }

  /** Resolve (or reject, with `error`) the request a reply answers; false if none. */
  settle(frame, error) {
    const waiter = frame.id === undefined ? null : this.pending.get(frame.id);
    if (!waiter) return false;
    this.pending.delete(frame.id);
    if (error) waiter.reject(Object.assign(new Error(error.detail), error));
    else waiter.resolve(frame);
    return true;
  }

  /**
   * Send one subscription on the current socket.
   * `mode` "resume": from the last seq seen (or, the first time, via resync/snapshot);
   * "resync": after a 410, state again via resync (or snapshot); "plain": no resume point
   * at all (a second 410, e.g. an engine without a stream yet) instead of looping.
   */
  async send(subscription, mode = "resume") {
    const ws = this.ws;
    const op = { op: "subscribe", ...subscription.spec };
    delete op.snapshot;
    let resumedFrom = null;
    if (subscription.durable && mode !== "plain") {
      let point = subscription.resumePoint();
      if (point !== null) resumedFrom = point;
      else if (subscription.resync && !subscription.allEngines) {
        try {
          point = await subscription.resync(subscription.spec.engine);
        } catch (error) {
          // no state, no safe resume point (e.g. the engine is down): try this one again
          // later on the same socket; the others are not held up
          const delay = backoffDelay(subscription.failures++, this.backoff);
          this.emit("resync-failed", { subscription, engine: op.engine, error, delay });
          setTimeout(() => {
            if (ws === this.ws && subscription.active) this.send(subscription, mode).catch(() => {});
          }, delay);
          return;
        }
        subscription.failures = 0;
        if (typeof point === "number") subscription.seq = point;
        else point = null;
      }
      if (point !== null) op.resume_from = point;
      else if (subscription.spec.snapshot) op.snapshot = true;
    } else if (subscription.spec.snapshot && subscription.durable) {
      op.snapshot = true;
    }
    if (ws !== this.ws || !subscription.active) return;
    let ack;
    try {
      ack = await this.request(op);
    } catch (error) {
      if (error.code === GONE && op.resume_from !== undefined) {
        subscription.forget();
        if (mode === "resume") {
          this.emit("gap", { subscription, engine: op.engine, detail: error.detail });
          return this.send(subscription, "resync");
        }
        return this.send(subscription, "plain");
      }
      if (!(error instanceof ConnectionLost)) subscription.rejectReady(error);
      throw error;
    }
    if (!subscription.active) {
      this.request({ op: "unsubscribe", sub: ack.sub }).catch(() => {});
      return;
    }
    subscription.sub = ack.sub;
    this.bySub.set(ack.sub, subscription);
    if (!subscription.allEngines && subscription.seq === null && typeof ack.seq === "number") {
      subscription.seq = ack.seq; // events follow after this point
    }
    if (resumedFrom !== null) {
      this.emit("resumed", { subscription, engine: op.engine, from: resumedFrom });
    }
    subscription.resolveReady(ack);
  }

  // --- events ----------------------------------------------------------------------

  setState(state, extra = {}) {
    this.state = state;
    this.emit("state", { state, attempt: this.attempt, ...extra });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
