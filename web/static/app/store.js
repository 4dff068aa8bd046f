// The page's view of one engine: orders, trades, positions, accounts, ticks, log.
//
// Contract: every event and REST answer is a full object, so applying one is an upsert by
// its vt id — applying the same object twice (a REST snapshot and the stream replaying
// it) changes nothing. An older order state never overwrites a newer one: status
// transitions only move forward (or stay), so a late snapshot cannot resurrect a filled
// order. Listeners registered with on(kind, fn) run after each change of that kind.

const KEYS = {
  order: "vt_orderid",
  trade: "vt_tradeid",
  position: "vt_positionid",
  account: "vt_accountid",
};
const FINAL = new Set(["ALLTRADED", "CANCELLED", "REJECTED"]);
export const ACTIVE = new Set(["SUBMITTING", "NOTTRADED", "PARTTRADED"]);
const LOG_LIMIT = 200;

export class EngineStore {
  constructor(engine) {
    this.engine = engine;
    this.maps = { order: new Map(), trade: new Map(), position: new Map(), account: new Map() };
    this.ticks = new Map(); // vt_symbol -> latest TickData
    this.log = [];
    this.listeners = new Map();
  }

  on(kind, listener) {
    if (!this.listeners.has(kind)) this.listeners.set(kind, new Set());
    this.listeners.get(kind).add(listener);
  }

  notify(kind, item) {
    for (const listener of this.listeners.get(kind) || []) listener(item);
  }

  /** Apply one object of a durable kind (event or REST row). */
  upsert(kind, item) {
    const map = this.maps[kind];
    const key = item[KEYS[kind]];
    if (!map || !key) return;
    if (kind === "order") {
      const known = map.get(key);
      if (known && !newer(item, known)) return;
    }
    map.set(key, item);
    this.notify(kind, item);
  }

  /** Apply a REST answer: every row, then one notification. */
  load(kind, items) {
    for (const item of items) this.upsert(kind, item);
    this.notify(kind, null);
  }

  tick(tick) {
    this.ticks.set(tick.vt_symbol, tick);
    this.notify("tick", tick);
  }

  addLog(entry) {
    this.log.push(entry);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    this.notify("log", entry);
  }

  list(kind) {
    return [...this.maps[kind].values()];
  }

  activeOrders() {
    return this.list("order").filter((order) => ACTIVE.has(order.status));
  }
}

/** Whether order state `next` may replace `known` (same order). */
function newer(next, known) {
  if (FINAL.has(known.status)) return next.status === known.status && next.traded >= known.traded;
  return next.traded >= known.traded;
}
