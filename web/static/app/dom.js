// Tiny DOM helpers. Data is only ever put into the page as text (textContent), never as
// HTML, so nothing an engine sends can inject markup.

/**
 * Create an element: h("td", {class: "num", dataset: {id: "x"}, onclick: fn}, "text", child).
 * Attributes starting with "on" become listeners; `dataset` fills data-*; null children skip.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** The element with this id (throws if missing: a page/script mismatch). */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing element #${id}`);
  return el;
}

/** A number with `digits` decimals, or "" for null/undefined/NaN. */
export function num(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "";
  return Number(value).toLocaleString(undefined, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Local clock time (HH:MM:SS) of an ISO datetime, or "". */
export function clock(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString(undefined, { hour12: false });
}

/** Replace the rows of a <tbody>; an empty list shows one "nothing" row. */
export function fillRows(tbody, rows, emptyText, columns) {
  tbody.replaceChildren(
    ...(rows.length ? rows : [h("tr", { class: "empty" }, h("td", { colspan: columns }, emptyText))]),
  );
}
