// The trading page: wires the client (../client/webtrader.js) to the views.
//
// Flow: log in (or reuse the session kept in sessionStorage) -> list engines -> follow
// the chosen engine: its contracts, its orders/trades/positions/accounts (REST state, then
// /stream resumed from the state's Wt-Stream-Seq, so nothing falls between), its log, and
// the ticks of the chosen contract. The stream reconnects by itself and resumes each
// durable subscription from its last seq; the connection badge says what it is doing.

import { newClientOrderId, WebTrader } from "../client/webtrader.js";
import { byId, h } from "./dom.js";
import { apply, initialLanguage, LANGUAGES, onLanguageChange, setLanguage, t } from "./i18n.js";
import { ConnectionBadge } from "./connection.js";
import { QuoteView } from "./quote.js";
import { EngineStore } from "./store.js";
import { Tables } from "./tables.js";
import { Ticket } from "./ticket.js";

const DURABLE_KINDS = ["order", "trade", "position", "account"];
const ENGINE_KEY = "webtrader.engine";
const CONTRACT_KEY = "webtrader.contract";
const ENGINES_POLL_MS = 15000;

class App {
  constructor() {
    this.wt = new WebTrader({ baseUrl: new URL(".", document.baseURI) });
    this.stream = null;
    this.engine = null;
    this.defaultEngine = null;
    this.store = null;
    this.contracts = [];
    this.contract = null;
    this.subscriptions = [];
    this.tickSubscription = null;
    this.enginePoll = null;
    this.badge = new ConnectionBadge(() => this.stream && this.stream.reconnectNow());
    this.quote = new QuoteView();
    this.tables = new Tables({
      onCancel: (id) => this.cancel(id),
      digitsOf: (vtSymbol) => this.digitsOf(vtSymbol),
    });
    this.ticket = new Ticket({ submit: (order) => this.submit(order) });
    this.wt.addEventListener("auth-required", () => this.loggedOut(t("session_expired")));
    // how many access tokens this page got (login and refreshes), shown for diagnosis
    let tokens = 0;
    this.wt.session.addEventListener("token", () => {
      document.documentElement.dataset.tokens = String(++tokens);
    });
  }

  boot() {
    const select = byId("lang-select");
    select.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => h("option", { value: code }, name)));
    select.addEventListener("change", () => setLanguage(select.value));
    onLanguageChange((code) => {
      select.value = code;
      this.ticket.relabel();
      this.quote.render();
      this.tables.render();
      this.renderEngines(this.engineList || []);
      this.badge.render();
    });
    setLanguage(initialLanguage());
    byId("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.login();
    });
    byId("logout").addEventListener("click", () => {
      this.loggingOut = true;
      this.wt.logout(); // ends the session: "auth-required" brings the login form back
    });
    byId("engine-select").addEventListener("change", (event) => this.selectEngine(event.target.value));
    byId("contract-search").addEventListener("input", () => this.renderContracts());
    byId("cancel-all").addEventListener("click", () => this.cancelAll());
    byId("book-body").addEventListener("click", (event) => {
      // a click on a book level puts its price into the ticket
      const match = /^(ask|bid)(\d)$/.exec((event.target.closest("tr") || {}).dataset?.level || "");
      const price = match && this.quote.tick && this.quote.tick[`${match[1]}_price_${match[2]}`];
      if (price) this.ticket.setPrice(price);
    });
    if (this.wt.loggedIn) this.start();
    else this.showLogin("");
  }

  // --- login -----------------------------------------------------------------------

  showLogin(message) {
    byId("trade-view").hidden = true;
    byId("login-view").hidden = false;
    byId("logout").hidden = true;
    byId("user-name").textContent = "";
    byId("login-error").textContent = message;
    byId("login-user").focus();
  }

  async login() {
    const button = byId("login-submit");
    button.disabled = true;
    byId("login-error").textContent = "";
    try {
      await this.wt.login(byId("login-user").value, byId("login-password").value);
      byId("login-password").value = "";
      this.start();
    } catch (error) {
      byId("login-error").textContent = t("login_failed", { detail: error.detail || error.message });
    } finally {
      button.disabled = false;
    }
  }

  loggedOut(message) {
    if (this.loggingOut) message = "";
    this.loggingOut = false;
    clearInterval(this.enginePoll);
    if (this.stream) this.stream.stop();
    this.stream = null;
    this.engine = null;
    this.subscriptions = [];
    this.tickSubscription = null;
    this.badge.set({ state: "auth-required" });
    this.showLogin(message);
  }

  // --- session ---------------------------------------------------------------------

  start() {
    byId("login-view").hidden = true;
    byId("trade-view").hidden = false;
    byId("logout").hidden = false;
    byId("user-name").textContent = this.wt.session.username || "";
    this.stream = this.wt.stream();
    this.badge.follow(this.stream);
    this.stream.addEventListener("engine", (event) => this.engineChanged(event.detail));
    this.stream.addEventListener("welcome", (event) => this.welcomed(event.detail));
    this.stream.addEventListener("auth-required", () => this.loggedOut(t("session_expired")));
    this.stream.start();
    this.loadEngines();
    this.enginePoll = setInterval(() => this.loadEngines(), ENGINES_POLL_MS);
  }

  welcomed(welcome) {
    this.defaultEngine = welcome.engine; // preferred when nothing was chosen before
  }

  async loadEngines() {
    let engines;
    try {
      engines = await this.wt.engines();
    } catch {
      return; // the badge shows the connection; the next poll tries again
    }
    this.engineList = engines;
    this.renderEngines(engines);
    if (!this.engine && engines.length) {
      const saved = sessionStorage.getItem(ENGINE_KEY);
      const choice =
        engines.find((e) => e.engine_id === saved) ||
        engines.find((e) => e.engine_id === this.defaultEngine && e.status === "up") ||
        engines.find((e) => e.status === "up") ||
        engines[0];
      this.selectEngine(choice.engine_id);
    }
  }

  renderEngines(engines) {
    const select = byId("engine-select");
    select.replaceChildren(
      ...engines.map((e) =>
        h("option", { value: e.engine_id, dataset: { status: e.status } }, `${e.engine_id} (${t(`engine_${e.status}`)})`),
      ),
    );
    if (this.engine) select.value = this.engine;
    const current = engines.find((e) => e.engine_id === this.engine);
    const dot = byId("engine-status");
    dot.dataset.status = current ? current.status : "";
    dot.title = current ? t(`engine_${current.status}`) : "";
  }

  engineChanged(frame) {
    const list = this.engineList || [];
    const known = list.find((e) => e.engine_id === frame.engine_id);
    if (known) known.status = frame.status;
    else this.loadEngines();
    this.renderEngines(list);
  }

  // --- engine ----------------------------------------------------------------------

  async selectEngine(engine) {
    if (!engine || engine === this.engine || !this.stream) return;
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
    this.dropTicks();
    this.engine = engine;
    sessionStorage.setItem(ENGINE_KEY, engine);
    byId("engine-select").value = engine;
    this.renderEngines(this.engineList || []);
    const store = new EngineStore(engine);
    this.store = store;
    for (const kind of [...DURABLE_KINDS, "log"]) store.on(kind, () => this.tables.renderSoon());
    store.on("log", (entry) => this.tables.appendLog(entry));
    store.on("tick", (tick) => {
      this.quote.update(tick);
      this.ticket.setTick(tick);
    });
    this.tables.show(store);
    for (const kind of DURABLE_KINDS) {
      this.subscriptions.push(
        this.stream.subscribe(
          { engine, topic: `${kind}.>` },
          {
            onEvent: (event) => store.upsert(kind, event.data),
            // REST state first, then every event after the state's sequence
            resync: async () => {
              const { data, seq } = await this.wt.query(engine, kind);
              store.load(kind, data);
              return seq;
            },
          },
        ),
      );
    }
    this.subscriptions.push(
      this.stream.subscribe({ engine, kind: "log" }, { onEvent: (event) => store.addLog(event.data) }),
    );
    // a refused subscription (403: not one of this user's engines) is shown, not swallowed
    for (const subscription of this.subscriptions) {
      subscription.ready.catch((error) => {
        if (engine === this.engine) byId("orders-error").textContent = t("server_error", { detail: error.detail || error.message });
      });
    }
    await this.loadContracts(engine);
  }

  async loadContracts(engine) {
    this.contracts = [];
    this.selectContract(null);
    try {
      this.contracts = await this.wt.contracts(engine);
    } catch (error) {
      byId("contract-list").replaceChildren(h("li", { class: "error" }, error.detail || error.message));
      return;
    }
    if (engine !== this.engine) return;
    this.renderContracts();
    const saved = sessionStorage.getItem(CONTRACT_KEY);
    const contract = this.contracts.find((c) => c.vt_symbol === saved);
    if (contract) this.selectContract(contract);
  }

  renderContracts() {
    const query = byId("contract-search").value.trim().toLowerCase();
    const matches = this.contracts.filter(
      (c) => !query || c.vt_symbol.toLowerCase().includes(query) || (c.name || "").toLowerCase().includes(query),
    );
    const items = matches.slice(0, 200).map((c) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "contract",
            dataset: { vtSymbol: c.vt_symbol },
            "aria-current": this.contract && this.contract.vt_symbol === c.vt_symbol ? "true" : null,
            onclick: () => this.selectContract(c),
          },
          h("span", { class: "symbol" }, c.vt_symbol),
          h("span", { class: "name" }, c.name),
        ),
      ),
    );
    byId("contract-list").replaceChildren(...(items.length ? items : [h("li", { class: "muted" }, t("no_contracts"))]));
  }

  selectContract(contract) {
    this.dropTicks();
    this.contract = contract;
    this.quote.show(contract);
    this.ticket.setContract(contract);
    this.renderContracts();
    if (!contract) return;
    sessionStorage.setItem(CONTRACT_KEY, contract.vt_symbol);
    // the sugar also asks the engine to subscribe the contract's market data
    this.tickSubscription = this.stream.subscribe(
      { engine: this.engine, kind: "tick", vt_symbol: contract.vt_symbol },
      { onEvent: (event) => this.store && this.store.tick(event.data) },
    );
    this.tickSubscription.ready.catch((error) => {
      byId("quote-empty").hidden = false;
      byId("quote-empty").textContent = t("server_error", { detail: error.detail || error.message });
    });
  }

  dropTicks() {
    if (this.tickSubscription) this.tickSubscription.unsubscribe();
    this.tickSubscription = null;
  }

  digitsOf(vtSymbol) {
    const contract = this.contracts.find((c) => c.vt_symbol === vtSymbol);
    if (!contract) return 2;
    const step = String(contract.pricetick);
    return step.includes(".") ? step.length - step.indexOf(".") - 1 : 0;
  }

  // --- trading ---------------------------------------------------------------------

  async submit(order) {
    const engine = this.engine;
    const placed = await this.wt.submitOrder(engine, { ...order, client_order_id: newClientOrderId() });
    if (this.store && engine === this.engine) this.store.upsert("order", placed);
    return placed;
  }

  async cancel(vtOrderid) {
    const engine = this.engine;
    byId("orders-error").textContent = "";
    try {
      const order = await this.wt.cancelOrder(engine, vtOrderid);
      if (engine === this.engine) this.store.upsert("order", order);
    } catch (error) {
      byId("orders-error").textContent = t("server_error", { detail: error.detail || error.message });
    }
  }

  async cancelAll() {
    const engine = this.engine;
    byId("orders-error").textContent = "";
    try {
      const orders = await this.wt.cancelAll(engine);
      if (engine === this.engine) this.store.load("order", orders);
    } catch (error) {
      byId("orders-error").textContent = t("server_error", { detail: error.detail || error.message });
    }
  }
}

const app = new App();
window.webtraderApp = app; // for the browser console (and nothing else)
apply(document);
app.boot();
