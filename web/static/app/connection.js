// The connection badge: what the stream is doing, always visible.
//
// Contract: follow(stream) listens to its "state", "resumed", "gap" and "nats" events.
// #connection gets data-state (idle, connecting, open, reconnecting, closed,
// auth-required), data-connections (sockets opened) and, after a reconnect that resumed,
// data-resumed-from (the highest seq resumed after); the text counts down to the next
// attempt while reconnecting.

import { byId } from "./dom.js";
import { t } from "./i18n.js";

export class ConnectionBadge {
  constructor(onRetry) {
    this.state = { state: "idle" };
    this.note = "";
    this.countdown = null;
    byId("retry-now").addEventListener("click", onRetry);
  }

  follow(stream) {
    let welcomes = 0;
    stream.addEventListener("state", (event) => this.set(event.detail));
    stream.addEventListener("welcome", () => {
      byId("connection").dataset.connections = String(++welcomes); // sockets opened so far
    });
    stream.addEventListener("resumed", (event) => {
      const el = byId("connection");
      const from = Math.max(event.detail.from, Number(el.dataset.resumedFrom || -1));
      el.dataset.resumedFrom = String(from);
      this.note = t("conn_resumed", { seq: from });
      this.render();
    });
    stream.addEventListener("gap", () => {
      byId("connection").dataset.resynced = "true";
      this.note = t("conn_resynced");
      this.render();
    });
    stream.addEventListener("nats", (event) => {
      this.note = event.detail.status === "disconnected" ? t("conn_nats_down") : "";
      this.render();
    });
  }

  set(state) {
    if (state.state !== "open") {
      this.note = "";
      delete byId("connection").dataset.resumedFrom;
    }
    this.state = state;
    clearInterval(this.countdown);
    if (state.state === "reconnecting" && state.retryAt) {
      this.countdown = setInterval(() => this.render(), 1000);
    }
    this.render();
  }

  render() {
    const { state, retryAt, attempt } = this.state;
    const el = byId("connection");
    el.dataset.state = state;
    let text;
    switch (state) {
      case "open":
        text = t("conn_open");
        break;
      case "connecting":
        text = t("conn_connecting");
        break;
      case "reconnecting":
        text = retryAt
          ? t("conn_reconnecting", { seconds: Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)), attempt })
          : t("conn_reconnecting_now");
        break;
      case "auth-required":
        text = t("conn_auth");
        break;
      case "closed":
        text = t("conn_closed");
        break;
      default:
        text = t("conn_idle");
    }
    byId("connection-text").textContent = text;
    byId("connection-note").textContent = this.note;
    byId("retry-now").hidden = state !== "reconnecting";
  }
}
