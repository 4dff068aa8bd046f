// Login session: the access token, its refresh, and where they are kept.
//
// Contract:
// * login() posts the OAuth2 password form to POST /token; the answer is
//   {access_token, token_type, refresh_token?, expires_in?}.
// * The access token is refreshed before it expires (at 80 % of its life, at least 5 s
//   before), with POST /token/refresh {"refresh_token"}; a gateway without refresh tokens
//   (or a refused refresh) ends the session: "expired" is dispatched and the app logs in again.
// * Tokens live in memory and, when a storage is given (sessionStorage by default in a
//   browser), in that storage under one key, so a reload keeps the session; never in
//   localStorage by default, never in a cookie.
// Events (EventTarget): "token" (detail {accessToken, expiresAt}) after a login or refresh;
// "expired" (detail {reason}) when the session cannot continue.

import { ApiError, requestJSON } from "./http.js";

const STORAGE_KEY = "webtrader.session";
const REFRESH_AT = 0.8; // fraction of the token's life after which it is refreshed
const MIN_LEAD_MS = 5000; // refresh at least this long before expiry

/** The `exp` claim of a JWT, in ms since the epoch (no signature check: scheduling only). */
export function jwtExpiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload));
    return typeof claims.exp === "number" ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

export class Session extends EventTarget {
  /**
   * @param {{baseUrl: URL|string, storage?: Storage|null, now?: () => number}} options
   *   `storage` null keeps tokens in memory only
   */
  constructor({ baseUrl, storage, now } = {}) {
    super();
    this.baseUrl = new URL(baseUrl);
    this.storage = storage === undefined ? defaultStorage() : storage;
    this.now = now || (() => Date.now());
    this.state = null; // {accessToken, refreshToken, expiresAt, issuedAt, username}
    this.timer = null;
    this.refreshing = null; // the refresh in flight (one at a time)
    this.restore();
  }

  /** True while an access token is held. */
  get loggedIn() {
    return this.state !== null;
  }

  /** The current access token, or null. */
  get accessToken() {
    return this.state ? this.state.accessToken : null;
  }

  /** The user name given at login, or null. */
  get username() {
    return this.state ? this.state.username : null;
  }

  /**
   * Log in with a user name and password.
   * @throws {ApiError} 401 wrong login, 429 too many attempts, 0 network
   */
  async login(username, password) {
    const { data } = await requestJSON(new URL("token", this.baseUrl), {
      method: "POST",
      form: { username, password },
    });
    this.accept(data, username);
  }

  /**
   * Get a new access token with the refresh token (concurrent callers share one request).
   * @returns {Promise<string>} the new access token
   * @throws {ApiError} no refresh token, or the gateway refused it (the session is ended)
   */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async doRefresh() {
    const state = this.state;
    if (!state || !state.refreshToken) {
      this.end("no refresh token");
      throw new ApiError(401, { detail: "session expired: log in again" });
    }
    try {
      const { data } = await requestJSON(new URL("token/refresh", this.baseUrl), {
        method: "POST",
        json: { refresh_token: state.refreshToken },
      });
      this.accept(data, state.username);
      return this.state.accessToken;
    } catch (error) {
      // a network failure keeps the session (try again later); a refusal ends it
      if (error instanceof ApiError && error.status !== 0 && error.status < 500) {
        this.end(error.detail);
      } else {
        this.schedule(Math.min(MIN_LEAD_MS, this.msLeft() / 2));
      }
      throw error;
    }
  }

  /** Forget the tokens (no request is made). */
  logout() {
    this.end("logged out");
  }

  // --- internals -------------------------------------------------------------------

  accept(data, username) {
    const issuedAt = this.now();
    const expiresAt =
      typeof data.expires_in === "number"
        ? issuedAt + data.expires_in * 1000
        : jwtExpiry(data.access_token);
    this.state = {
      accessToken: data.access_token,
      refreshToken: data.refresh_token || (this.state && this.state.refreshToken) || null,
      expiresAt,
      issuedAt,
      username,
    };
    this.save();
    this.scheduleRefresh();
    this.dispatchEvent(
      new CustomEvent("token", { detail: { accessToken: data.access_token, expiresAt } }),
    );
  }

  msLeft() {
    return this.state && this.state.expiresAt ? this.state.expiresAt - this.now() : Infinity;
  }

  scheduleRefresh() {
    const { expiresAt, issuedAt, refreshToken } = this.state;
    if (!expiresAt) return;
    const life = expiresAt - issuedAt;
    const at = Math.min(issuedAt + life * REFRESH_AT, expiresAt - MIN_LEAD_MS);
    if (!refreshToken) {
      // nothing to refresh with: end the session when the token dies
      this.schedule(expiresAt - this.now(), () => this.end("access token expired"));
      return;
    }
    this.schedule(at - this.now());
  }

  schedule(delay, action) {
    clearTimeout(this.timer);
    const run = action || (() => this.refresh().catch(() => {}));
    // setTimeout's limit is 2^31-1 ms; a longer wait is re-scheduled on the way
    this.timer = setTimeout(run, Math.max(0, Math.min(delay, 2 ** 31 - 1)));
  }

  end(reason) {
    const had = this.state !== null;
    clearTimeout(this.timer);
    this.state = null;
    this.save();
    if (had) this.dispatchEvent(new CustomEvent("expired", { detail: { reason } }));
  }

  save() {
    if (!this.storage) return;
    try {
      if (this.state) this.storage.setItem(STORAGE_KEY, JSON.stringify(this.state));
      else this.storage.removeItem(STORAGE_KEY);
    } catch {
      // storage full or disabled: memory only
    }
  }

  restore() {
    if (!this.storage) return;
    try {
      const saved = JSON.parse(this.storage.getItem(STORAGE_KEY) || "null");
      if (!saved || !saved.accessToken) return;
      const usable = !saved.expiresAt || saved.expiresAt - this.now() > MIN_LEAD_MS;
      if (!usable && !saved.refreshToken) return;
      this.state = saved;
      if (usable) this.scheduleRefresh();
      else this.schedule(0);
    } catch {
      // unreadable: start logged out
    }
  }
}

function defaultStorage() {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}
