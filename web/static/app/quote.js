// The quote panel: last price and change, session stats, the 5-level book, the chart.
//
// Contract: show(contract) switches to a contract (clears the chart); update(tick) draws a
// tick of that contract (others are ignored). Prices use the contract's pricetick decimals.

import { PriceChart } from "./chart.js";
import { byId, h, num } from "./dom.js";
import { t } from "./i18n.js";
import { decimals } from "./validate.js";

const LEVELS = [1, 2, 3, 4, 5];

export class QuoteView {
  constructor() {
    this.chart = new PriceChart(byId("price-chart"));
    this.contract = null;
    this.tick = null;
    this.ticks = 0;
  }

  show(contract) {
    this.contract = contract;
    this.tick = null;
    this.ticks = 0;
    this.chart.clear();
    this.chart.digits = decimals(contract ? contract.pricetick : 0.01);
    byId("quote-symbol").textContent = contract ? `${contract.vt_symbol} ${contract.name}` : "";
    byId("quote-empty").hidden = contract !== null;
    byId("quote-empty").textContent = t("no_quote");
    byId("quote-body").hidden = true;
  }

  update(tick) {
    if (!this.contract || tick.vt_symbol !== this.contract.vt_symbol) return;
    this.tick = tick;
    this.ticks += 1;
    byId("quote-body").dataset.ticks = String(this.ticks); // ticks drawn since show()
    this.chart.push(tick.datetime, tick.last_price);
    this.render();
  }

  /** Redraw the labels (after a language switch). */
  render() {
    const tick = this.tick;
    if (!tick) return;
    const digits = decimals(this.contract.pricetick);
    byId("quote-body").hidden = false;
    byId("quote-last").textContent = num(tick.last_price, digits);
    const change = tick.pre_close ? tick.last_price - tick.pre_close : 0;
    const changeEl = byId("quote-change");
    changeEl.textContent = tick.pre_close
      ? `${change >= 0 ? "+" : ""}${num(change, digits)} (${num((100 * change) / tick.pre_close, 2)}%)`
      : "";
    changeEl.className = `change ${change >= 0 ? "up" : "down"}`;
    const stats = [
      ["open", tick.open_price],
      ["high", tick.high_price],
      ["low", tick.low_price],
      ["limit_up", tick.limit_up],
      ["limit_down", tick.limit_down],
    ];
    byId("quote-stats").replaceChildren(
      ...stats.flatMap(([key, value]) => [h("dt", {}, t(key)), h("dd", {}, num(value, digits))]),
      h("dt", {}, t("volume")),
      h("dd", {}, num(tick.volume, 0)),
    );
    const asks = [...LEVELS].reverse().map((n) => this.level("ask", n, digits));
    const bids = LEVELS.map((n) => this.level("bid", n, digits));
    byId("book-body").replaceChildren(...asks, ...bids);
  }

  level(side, n, digits) {
    const price = this.tick[`${side}_price_${n}`];
    const volume = this.tick[`${side}_volume_${n}`];
    return h(
      "tr",
      { class: side, dataset: { level: `${side}${n}` } },
      h("th", {}, `${t(side)}${n}`),
      h("td", { class: "num price" }, price ? num(price, digits) : "—"),
      h("td", { class: "num" }, volume ? num(volume, 0) : ""),
    );
  }
}
