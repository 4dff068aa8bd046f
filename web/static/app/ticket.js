// The order ticket: direction, type, offset, price, volume; checked before sending.
//
// Contract: the ticket is bound to one contract (setContract) and knows its latest tick
// (setTick) for the limits. On submit it validates with validate.js and marks the field
// to blame; a valid order goes to `submit(order)` (the WebTrader call). When the server
// refuses it, its `detail` is shown as is and its `field` (price, volume, ...) is marked.

import { byId, h, num } from "./dom.js";
import { enumLabel, t } from "./i18n.js";
import { decimals, limits, validateOrder } from "./validate.js";

const TYPES = ["LIMIT", "MARKET", "FAK", "FOK"];
const OFFSETS = ["NONE", "OPEN", "CLOSE", "CLOSETODAY", "CLOSEYESTERDAY"];
const FIELDS = { price: "ticket-price", volume: "ticket-volume", type: "ticket-type", offset: "ticket-offset" };

export class Ticket {
  /** @param {{submit: (order: object) => Promise<object>}} options */
  constructor({ submit }) {
    this.submit = submit;
    this.contract = null;
    this.tick = null;
    this.direction = "LONG";
    this.form = byId("ticket-form");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    for (const button of this.form.querySelectorAll(".side")) {
      button.addEventListener("click", () => this.setDirection(button.dataset.direction));
    }
    byId("ticket-type").addEventListener("change", () => this.syncType());
    for (const id of Object.values(FIELDS)) {
      byId(id).addEventListener("input", () => this.clearMessages());
    }
    this.fillSelects();
  }

  fillSelects() {
    const fill = (select, values) => {
      const chosen = select.value;
      select.replaceChildren(...values.map((v) => h("option", { value: v }, enumLabel(v))));
      if (chosen) select.value = chosen;
    };
    fill(byId("ticket-type"), TYPES);
    fill(byId("ticket-offset"), OFFSETS);
  }

  /** Re-label after a language switch. */
  relabel() {
    this.fillSelects();
    this.showLimits();
  }

  setContract(contract) {
    this.contract = contract;
    this.tick = null;
    byId("ticket-symbol").value = contract ? contract.vt_symbol : "";
    const price = byId("ticket-price");
    const volume = byId("ticket-volume");
    price.value = "";
    price.step = contract ? String(contract.pricetick) : "any";
    volume.step = contract ? String(contract.min_volume || 1) : "any";
    volume.min = volume.step;
    volume.value = contract ? String(contract.min_volume || 1) : "1";
    // futures open/close; equities and net contracts have no offset
    byId("ticket-offset").value = contract && contract.product === "FUTURES" ? "OPEN" : "NONE";
    this.clearMessages();
    byId("ticket-result").textContent = "";
    this.showLimits();
  }

  setTick(tick) {
    if (!this.contract || tick.vt_symbol !== this.contract.vt_symbol) return;
    const first = this.tick === null;
    this.tick = tick;
    const price = byId("ticket-price");
    if (first && !price.value && tick.last_price) {
      price.value = tick.last_price.toFixed(decimals(this.contract.pricetick));
    }
    this.showLimits();
  }

  /** Put a price into the ticket (a click on the book). */
  setPrice(value) {
    if (!this.contract) return;
    byId("ticket-price").value = Number(value).toFixed(decimals(this.contract.pricetick));
    this.clearMessages();
  }

  setDirection(direction) {
    this.direction = direction;
    for (const button of this.form.querySelectorAll(".side")) {
      button.setAttribute("aria-pressed", String(button.dataset.direction === direction));
    }
  }

  syncType() {
    byId("ticket-price").disabled = byId("ticket-type").value === "MARKET";
    this.clearMessages();
  }

  showLimits() {
    const el = byId("ticket-limits");
    if (!this.contract) {
      el.textContent = t("pick_contract");
      return;
    }
    const digits = decimals(this.contract.pricetick);
    const { up, down } = limits(this.contract, this.tick);
    const parts = [
      t("hint_tick", { tick: this.contract.pricetick }),
      t("hint_min_volume", { min: this.contract.min_volume }),
    ];
    if (down !== null && up !== null) {
      parts.push(t("hint_limits", { down: num(down, digits), up: num(up, digits) }));
    }
    el.textContent = parts.join(" · ");
  }

  /** The order the ticket describes (numbers parsed; NaN when not a number). */
  order() {
    const type = byId("ticket-type").value;
    const priceText = byId("ticket-price").value.trim();
    return {
      symbol: this.contract.symbol,
      exchange: this.contract.exchange,
      direction: this.direction,
      type,
      offset: byId("ticket-offset").value,
      volume: Number(byId("ticket-volume").value.trim() || Number.NaN),
      price: type === "MARKET" ? 0 : Number(priceText === "" ? Number.NaN : priceText),
      reference: "webtrader-page",
    };
  }

  async send() {
    this.clearMessages();
    byId("ticket-result").textContent = "";
    delete byId("ticket-result").dataset.orderid;
    if (!this.contract) {
      this.fail(null, t("pick_contract"));
      return;
    }
    const order = this.order();
    const problem = validateOrder(order, this.contract, this.tick);
    if (problem) {
      this.fail(problem.field, t(problem.key, problem.params));
      return;
    }
    const button = byId("ticket-submit");
    button.disabled = true;
    button.textContent = t("submitting");
    try {
      const placed = await this.submit(order);
      const result = byId("ticket-result");
      result.textContent =
        placed.status === "REJECTED"
          ? t("order_rejected", { id: placed.vt_orderid, reason: placed.reason })
          : t("order_sent", { id: placed.vt_orderid, status: enumLabel(placed.status) });
      result.className = placed.status === "REJECTED" ? "error" : "ok";
      result.dataset.orderid = placed.vt_orderid;
    } catch (error) {
      const field = error.field || null;
      const key = field ? "server_error_field" : "server_error";
      this.fail(field, t(key, { detail: error.detail || error.message, field }));
    } finally {
      button.disabled = false;
      button.textContent = t("submit");
    }
  }

  fail(field, message) {
    const el = byId("ticket-error");
    el.textContent = message;
    el.dataset.field = field || "";
    const input = field && FIELDS[field] ? byId(FIELDS[field]) : null;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  clearMessages() {
    const el = byId("ticket-error");
    el.textContent = "";
    el.dataset.field = "";
    for (const id of Object.values(FIELDS)) byId(id).removeAttribute("aria-invalid");
  }
}
