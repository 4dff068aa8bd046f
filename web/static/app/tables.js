// The tables: active orders (with cancel), all orders, trades, positions, accounts, log.
//
// Contract: render(store) redraws every table from the store (cheap: tens of rows);
// the store's listeners call renderSoon(), which coalesces redraws to one per frame.
// Rows carry data-id (the vt id) for tests and for the cancel buttons.

import { byId, clock, fillRows, h, num } from "./dom.js";
import { enumLabel, t } from "./i18n.js";

const NEWEST_FIRST = (a, b) => String(b.datetime || "").localeCompare(String(a.datetime || ""));

export class Tables {
  /**
   * @param {{onCancel: (vtOrderid: string) => void, digitsOf: (vtSymbol: string) => number}} options
   */
  constructor({ onCancel, digitsOf }) {
    this.onCancel = onCancel;
    this.digitsOf = digitsOf;
    this.store = null;
    this.pending = false;
    this.logList = byId("engine-log");
  }

  show(store) {
    this.store = store;
    this.logList.replaceChildren();
    for (const entry of store.log) this.appendLog(entry);
    this.render();
  }

  renderSoon() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    const store = this.store;
    if (!store) return;
    const body = (id) => byId(id).tBodies[0];
    const orders = store.list("order").sort(NEWEST_FIRST);
    const active = store.activeOrders().sort(NEWEST_FIRST);
    fillRows(body("active-orders"), active.map((o) => this.activeRow(o)), t("none"), 9);
    fillRows(body("all-orders"), orders.map((o) => this.orderRow(o)), t("none"), 9);
    const trades = store.list("trade").sort(NEWEST_FIRST);
    fillRows(body("trades"), trades.map((x) => this.tradeRow(x)), t("none"), 8);
    const positions = store.list("position").filter((p) => p.volume || p.frozen || p.pnl);
    fillRows(body("positions"), positions.map((p) => this.positionRow(p)), t("none"), 7);
    fillRows(body("accounts"), store.list("account").map((a) => this.accountRow(a)), t("none"), 4);
    byId("cancel-all").disabled = active.length === 0;
  }

  activeRow(order) {
    const digits = this.digitsOf(order.vt_symbol);
    return h(
      "tr",
      { dataset: { id: order.vt_orderid, status: order.status } },
      h("td", {}, order.vt_orderid),
      h("td", {}, order.vt_symbol),
      h("td", { class: `dir-${order.direction}` }, enumLabel(order.direction)),
      h("td", {}, enumLabel(order.offset)),
      h("td", { class: "num" }, num(order.price, digits)),
      h("td", { class: "num" }, num(order.volume, 0)),
      h("td", { class: "num" }, num(order.traded, 0)),
      h("td", {}, enumLabel(order.status)),
      h(
        "td",
        {},
        h(
          "button",
          { type: "button", class: "small danger", onclick: () => this.onCancel(order.vt_orderid) },
          t("cancel"),
        ),
      ),
    );
  }

  orderRow(order) {
    const digits = this.digitsOf(order.vt_symbol);
    return h(
      "tr",
      { dataset: { id: order.vt_orderid, status: order.status } },
      h("td", {}, order.vt_orderid),
      h("td", {}, order.vt_symbol),
      h("td", { class: `dir-${order.direction}` }, enumLabel(order.direction)),
      h("td", {}, enumLabel(order.type)),
      h("td", { class: "num" }, num(order.price, digits)),
      h("td", { class: "num" }, num(order.volume, 0)),
      h("td", { class: "num" }, num(order.traded, 0)),
      h("td", { class: `status-${order.status}` }, enumLabel(order.status)),
      h("td", { class: "reason" }, order.reason || ""),
    );
  }

  tradeRow(trade) {
    return h(
      "tr",
      { dataset: { id: trade.vt_tradeid, order: trade.vt_orderid } },
      h("td", {}, clock(trade.datetime)),
      h("td", {}, trade.vt_tradeid),
      h("td", {}, trade.vt_orderid),
      h("td", {}, trade.vt_symbol),
      h("td", { class: `dir-${trade.direction}` }, enumLabel(trade.direction)),
      h("td", {}, enumLabel(trade.offset)),
      h("td", { class: "num" }, num(trade.price, this.digitsOf(trade.vt_symbol))),
      h("td", { class: "num" }, num(trade.volume, 0)),
    );
  }

  positionRow(position) {
    return h(
      "tr",
      { dataset: { id: position.vt_positionid } },
      h("td", {}, position.vt_symbol),
      h("td", { class: `dir-${position.direction}` }, enumLabel(position.direction)),
      h("td", { class: "num volume" }, num(position.volume, 0)),
      h("td", { class: "num" }, num(position.yd_volume, 0)),
      h("td", { class: "num" }, num(position.frozen, 0)),
      h("td", { class: "num" }, num(position.price, this.digitsOf(position.vt_symbol))),
      h("td", { class: `num ${position.pnl < 0 ? "down" : "up"}` }, num(position.pnl, 2)),
    );
  }

  accountRow(account) {
    return h(
      "tr",
      { dataset: { id: account.vt_accountid } },
      h("td", {}, account.vt_accountid),
      h("td", { class: "num" }, num(account.balance, 2)),
      h("td", { class: "num" }, num(account.frozen, 2)),
      h("td", { class: "num" }, num(account.available, 2)),
    );
  }

  appendLog(entry) {
    const list = this.logList;
    list.append(
      h(
        "li",
        { class: entry.level >= 40 ? "error" : entry.level >= 30 ? "warn" : "" },
        h("time", {}, clock(entry.time)),
        " ",
        entry.msg,
      ),
    );
    while (list.children.length > 200) list.firstElementChild.remove();
    list.scrollTop = list.scrollHeight;
  }
}
