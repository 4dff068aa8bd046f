// A small last-price chart on a <canvas>: no library.
//
// Contract: push(time, price) adds a point (the last `capacity` are kept); the chart
// redraws at most once per animation frame and follows the canvas's CSS size and the
// device pixel ratio. The x axis is ticks (newest on the right), at least MIN_SPAN wide.
// clear() empties it.

const MIN_SPAN = 60;

export class PriceChart {
  constructor(canvas, { capacity = 300 } = {}) {
    this.canvas = canvas;
    this.capacity = capacity;
    this.points = [];
    this.pending = false;
    this.digits = 2;
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => this.schedule()).observe(canvas);
    }
  }

  push(time, price) {
    if (!(price > 0)) return;
    this.points.push({ time, price });
    if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
    this.schedule();
  }

  clear() {
    this.points = [];
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(canvas);
    const line = style.getPropertyValue("--chart-line").trim() || "#2a6fdb";
    const muted = style.getPropertyValue("--chart-muted").trim() || "#999";
    const prices = this.points.map((p) => p.price);
    if (prices.length < 2) return;
    let low = Math.min(...prices);
    let high = Math.max(...prices);
    if (high === low) {
      high += 1;
      low -= 1;
    }
    const pad = { left: 4, right: 56, top: 8, bottom: 8 };
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    const span = Math.max(prices.length, MIN_SPAN);
    const x = (i) => pad.left + (plotW * i) / (span - 1);
    const y = (price) => pad.top + plotH * (1 - (price - low) / (high - low));
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = muted;
    ctx.textBaseline = "middle";
    const last = prices[prices.length - 1];
    const labelY = y(last);
    // high and low on the right edge, unless the last price's label would cover them
    if (labelY - pad.top > 14) ctx.fillText(high.toFixed(this.digits), width - pad.right + 4, pad.top + 4);
    if (height - pad.bottom - labelY > 14) {
      ctx.fillText(low.toFixed(this.digits), width - pad.right + 4, height - pad.bottom - 4);
    }
    ctx.strokeStyle = line;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    const offset = span - prices.length;
    prices.forEach((price, i) => {
      if (i === 0) ctx.moveTo(x(offset + i), y(price));
      else ctx.lineTo(x(offset + i), y(price));
    });
    ctx.stroke();
    ctx.fillStyle = line;
    ctx.beginPath();
    ctx.arc(x(span - 1), labelY, 3, 0, Math.PI * 2);
    ctx.fill();
    ctx.fillText(last.toFixed(this.digits), width - pad.right + 4, labelY);
  }
}
