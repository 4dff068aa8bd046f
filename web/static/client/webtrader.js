// nats-webtrader JavaScript client: log in, call the REST API, follow /stream.
//
//   import { WebTrader } from "./client/webtrader.js";
//   const wt = new WebTrader();                 // the gateway that served the page
//   await wt.login("vnpy", "vnpy");
//   const engines = await wt.engines();
//   const stream = wt.stream();                 // reconnects and resumes by itself
//   stream.subscribe({ engine: "sim", topic: "order.>" }, { onEvent: (e) => console.log(e.data) });
//   stream.start();
//
// Contract: every data call carries the access token; a 401 triggers one token refresh
// and one retry, and a refused refresh dispatches "auth-required" (log in again). All
// engine calls use the /engines/{engine_id}/ routes (docs/gateway.md). Errors are
// ApiError with the server's `detail` and `field`. See docs/javascript-client.md.

import { Session } from "./auth.js";
import { ApiError, requestJSON } from "./http.js";
import { Stream } from "./stream.js";

export { ApiError } from "./http.js";
export { Session, jwtExpiry } from "./auth.js";
export { Stream, Subscription, backoffDelay, engineOf, isDurable } from "./stream.js";

/** The state queries whose answers carry Wt-Stream-Seq, by resource. */
export const RESOURCES = Object.freeze(["order", "trade", "position", "account", "tick", "contract"]);

/** Random ids for client_order_id (works on plain http too, unlike randomUUID). */
export function newClientOrderId(prefix = "web") {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class WebTrader extends EventTarget {
  /**
   * @param {{baseUrl?: string|URL, storage?: Storage|null, backoff?: object}} options
   *   `baseUrl` the gateway's root (default: the directory of the current page);
   *   `storage` where the session is kept (default sessionStorage; null: memory only)
   */
  constructor({ baseUrl, storage, backoff } = {}) {
    super();
    this.baseUrl = new URL(baseUrl || ".", typeof location === "undefined" ? undefined : location.href);
    if (!this.baseUrl.pathname.endsWith("/")) this.baseUrl.pathname += "/";
    this.backoff = backoff;
    this.session = new Session({ baseUrl: this.baseUrl, storage });
    this.session.addEventListener("expired", (event) =>
      this.dispatchEvent(new CustomEvent("auth-required", { detail: event.detail })),
    );
  }

  /** True while logged in. */
  get loggedIn() {
    return this.session.loggedIn;
  }

  /** Log in; throws ApiError (401 wrong login). */
  login(username, password) {
    return this.session.login(username, password);
  }

  /** Forget the session. */
  logout() {
    this.session.logout();
  }

  /**
   * One authenticated request relative to the gateway root.
   * @returns {Promise<{status, data, headers, seq}>}
   * @throws {ApiError} the server's error; 401 after a refused refresh
   */
  async request(path, options = {}) {
    const url = new URL(path, this.baseUrl);
    const call = () =>
      requestJSON(url, {
        ...options,
        headers: { ...(options.headers || {}), Authorization: `Bearer ${this.session.accessToken}` },
      });
    if (!this.session.loggedIn) throw new ApiError(401, { detail: "not logged in" });
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      await this.session.refresh(); // throws (and ends the session) when refused
      return call();
    }
  }

  /** The path of an engine's resource: `engines/{id}/{resource}`. */
  enginePath(engine, resource) {
    return `engines/${encodeURIComponent(engine)}/${resource}`;
  }

  /**
   * A state query with its stream sequence: GET /engines/{engine}/{resource}.
   * @param {string} resource "order", "trade", "position", "account", "tick" or "contract"
   * @param {{vt_symbol?: string, active?: boolean, limit?: number}} filters
   * @returns {Promise<{data: any[], seq: number|null}>} `seq`: resume /stream from it
   */
  async query(engine, resource, filters = {}) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) {
      if (value !== undefined && value !== null && value !== false) params.set(key, String(value));
    }
    const qs = params.toString();
    const { data, seq } = await this.request(this.enginePath(engine, resource) + (qs ? `?${qs}` : ""));
    return { data, seq };
  }

  /** [EngineStatus]: every engine the gateway knows, `up` or `down`. */
  async engines() {
    return (await this.request("engines")).data;
  }

  /** [ContractData] of an engine (filters: vt_symbol, limit). */
  async contracts(engine, filters) {
    return (await this.query(engine, "contract", filters)).data;
  }

  /** Subscribe the engine to a contract's market data: {vt_symbol}. */
  async subscribeTicks(engine, vtSymbol) {
    const path = this.enginePath(engine, `tick/${encodeURIComponent(vtSymbol)}`);
    return (await this.request(path, { method: "POST" })).data;
  }

  /** [OrderData], oldest first (filters: vt_symbol, active, limit). */
  async orders(engine, filters) {
    return (await this.query(engine, "order", filters)).data;
  }

  /** [TradeData], oldest first. */
  async trades(engine, filters) {
    return (await this.query(engine, "trade", filters)).data;
  }

  /** [PositionData]. */
  async positions(engine, filters) {
    return (await this.query(engine, "position", filters)).data;
  }

  /** [AccountData]. */
  async accounts(engine, filters) {
    return (await this.query(engine, "account", filters)).data;
  }

  /**
   * Submit an order; resolves with the OrderData as accepted (maybe REJECTED with a reason).
   * A `client_order_id` is added when missing, so a retry of the same object is idempotent.
   * @param {object} order {symbol, exchange, direction, type, volume, price, offset, reference}
   * @throws {ApiError} 422 the contract cannot take it (`field`), 403 not allowed, 504 unknown
   */
  async submitOrder(engine, order) {
    if (!order.client_order_id) order.client_order_id = newClientOrderId();
    const path = this.enginePath(engine, "order");
    return (await this.request(path, { method: "POST", json: order })).data;
  }

  /** Cancel one order; resolves with the order after the cancel (409 if no longer active). */
  async cancelOrder(engine, vtOrderid) {
    const path = this.enginePath(engine, `order/${encodeURIComponent(vtOrderid)}`);
    return (await this.request(path, { method: "DELETE" })).data;
  }

  /** Cancel every active order (of one contract with vt_symbol); resolves with them. */
  async cancelAll(engine, vtSymbol) {
    const qs = vtSymbol ? `?vt_symbol=${encodeURIComponent(vtSymbol)}` : "";
    return (await this.request(this.enginePath(engine, "order") + qs, { method: "DELETE" })).data;
  }

  /** A /stream connection that follows this session's token (call start() on it). */
  stream() {
    const stream = new Stream({
      url: () => {
        const url = new URL("stream", this.baseUrl);
        url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
        return url.toString();
      },
      token: () => this.session.accessToken,
      checkAuth: () => this.engines(),
      refreshToken: () => this.session.refresh(),
      backoff: this.backoff,
    });
    this.session.addEventListener("token", (event) => stream.sendToken(event.detail.accessToken));
    return stream;
  }
}
