// Client-side order checks: the same rules as schemas/validation.py, run before sending.
//
// Contract: validateOrder(order, contract, tick) returns null when the order may be sent,
// else {field, key, params} naming the input to blame and an i18n key. Limits come from
// the latest tick when it has them (limit_up/limit_down > 0), else from the contract.
// The server checks again; its verdict (422 with `field`) is what counts.

const GRID_TOLERANCE = 1e-6;
const DEFAULT_MAX_VOLUME = 1_000_000;
const UNPRICED = new Set(["MARKET"]);

/** True if `value` is a whole multiple of `step` (within float noise). */
export function onGrid(value, step) {
  if (!(step > 0)) return true;
  const ratio = value / step;
  return Math.abs(ratio - Math.round(ratio)) <= GRID_TOLERANCE * Math.max(1, Math.abs(ratio));
}

/** The price limits in force: {up, down}, each a number or null. */
export function limits(contract, tick) {
  const pick = (fromTick, fromContract) =>
    fromTick > 0 ? fromTick : typeof fromContract === "number" ? fromContract : null;
  return {
    up: pick(tick && tick.limit_up, contract.limit_up),
    down: pick(tick && tick.limit_down, contract.limit_down),
  };
}

/** The number of decimals a step like 0.01 needs (for display and rounding). */
export function decimals(step) {
  if (!(step > 0)) return 2;
  const text = String(step);
  if (text.includes("e-")) return Number(text.split("e-")[1]);
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/**
 * Check an order against its contract.
 * @param {{type: string, volume: number, price: number}} order
 * @param {object} contract ContractData
 * @param {object|null} tick latest TickData of the contract
 * @returns {null|{field: string, key: string, params: object}}
 */
export function validateOrder(order, contract, tick) {
  const { volume, price } = order;
  const minVolume = contract.min_volume || 1;
  const maxVolume = contract.max_volume || DEFAULT_MAX_VOLUME;
  if (!Number.isFinite(volume) || volume <= 0) return fail("volume", "err_volume_positive");
  if (volume < minVolume) return fail("volume", "err_volume_min", { min: minVolume });
  if (volume > maxVolume) return fail("volume", "err_volume_max", { max: maxVolume });
  if (!onGrid(volume, minVolume)) return fail("volume", "err_volume_grid", { step: minVolume });
  if (UNPRICED.has(order.type)) return null;
  if (!Number.isFinite(price) || price <= 0) return fail("price", "err_price_positive");
  if (!onGrid(price, contract.pricetick)) {
    return fail("price", "err_price_grid", { tick: contract.pricetick });
  }
  const { up, down } = limits(contract, tick);
  if (up !== null && price > up + GRID_TOLERANCE) return fail("price", "err_price_up", { limit: up });
  if (down !== null && price < down - GRID_TOLERANCE) {
    return fail("price", "err_price_down", { limit: down });
  }
  return null;
}

function fail(field, key, params = {}) {
  return { field, key, params };
}
