// Every string the page shows, in English and Chinese, and the language switch.
//
// Contract: t(key, params) returns the string of the current language ({name} replaced
// by params.name), falling back to English, then to the key. Elements with
// data-i18n="key" get their text set by apply(); data-i18n-placeholder and
// data-i18n-title set those attributes. setLanguage() remembers the choice in
// localStorage; the default comes from navigator.language (zh* -> Chinese).

export const LANGUAGES = Object.freeze({ en: "English", zh: "中文" });
const STORAGE_KEY = "webtrader.lang";

const STRINGS = {
  en: {
    title: "WebTrader",
    language: "Language",
    login: "Log in",
    logout: "Log out",
    username: "User name",
    password: "Password",
    login_failed: "Login failed: {detail}",
    session_expired: "Your session ended: log in again.",
    engine: "Engine",
    engine_up: "up",
    engine_down: "down",
    conn_idle: "Not connected",
    conn_connecting: "Connecting…",
    conn_open: "Live",
    conn_reconnecting: "Reconnecting in {seconds} s (attempt {attempt})",
    conn_reconnecting_now: "Reconnecting…",
    conn_closed: "Disconnected",
    conn_auth: "Log in again",
    conn_resumed: "resumed after #{seq}",
    conn_resynced: "reloaded (resume point gone)",
    conn_nats_down: "gateway lost NATS",
    retry_now: "Retry now",
    contracts: "Contracts",
    search: "Search contracts",
    no_contracts: "No contract matches",
    quote: "Quote",
    no_quote: "Pick a contract to see its quotes",
    last: "Last",
    change: "Change",
    volume: "Volume",
    open: "Open",
    high: "High",
    low: "Low",
    limit_up: "Limit up",
    limit_down: "Limit down",
    bid: "Bid",
    ask: "Ask",
    price: "Price",
    chart: "Price chart",
    ticket: "Order ticket",
    contract: "Contract",
    direction: "Direction",
    offset: "Offset",
    type: "Type",
    buy: "Buy",
    sell: "Sell",
    submit: "Send order",
    submitting: "Sending…",
    order_sent: "Order {id}: {status}",
    order_rejected: "Order {id} rejected: {reason}",
    pick_contract: "Pick a contract first",
    hint_tick: "tick {tick}",
    hint_min_volume: "min volume {min}",
    hint_limits: "limits {down} – {up}",
    err_volume_positive: "Volume must be a number > 0",
    err_volume_min: "Volume must be at least {min}",
    err_volume_max: "Volume must be at most {max}",
    err_volume_grid: "Volume must be a multiple of {step}",
    err_price_positive: "Price must be a number > 0",
    err_price_grid: "Price must be a multiple of {tick}",
    err_price_up: "Price is above the limit up {limit}",
    err_price_down: "Price is below the limit down {limit}",
    server_error: "{detail}",
    server_error_field: "{detail} ({field})",
    active_orders: "Active orders",
    orders: "Orders",
    trades: "Trades",
    positions: "Positions",
    accounts: "Accounts",
    log: "Log",
    cancel: "Cancel",
    cancel_all: "Cancel all",
    cancelled_n: "{n} orders cancelled",
    none: "Nothing yet",
    time: "Time",
    order_id: "Order",
    trade_id: "Trade",
    status: "Status",
    traded: "Traded",
    reason: "Reason",
    frozen: "Frozen",
    pnl: "P&L",
    yd_volume: "Yesterday",
    account: "Account",
    balance: "Balance",
    available: "Available",
    message: "Message",
    "enum.LONG": "Long",
    "enum.SHORT": "Short",
    "enum.NET": "Net",
    "enum.NONE": "—",
    "enum.OPEN": "Open",
    "enum.CLOSE": "Close",
    "enum.CLOSETODAY": "Close today",
    "enum.CLOSEYESTERDAY": "Close yesterday",
    "enum.SUBMITTING": "Submitting",
    "enum.NOTTRADED": "Not traded",
    "enum.PARTTRADED": "Part traded",
    "enum.ALLTRADED": "All traded",
    "enum.CANCELLED": "Cancelled",
    "enum.REJECTED": "Rejected",
    "enum.LIMIT": "Limit",
    "enum.MARKET": "Market",
    "enum.FAK": "FAK",
    "enum.FOK": "FOK",
  },
  zh: {
    title: "网页交易",
    language: "语言",
    login: "登录",
    logout: "退出",
    username: "用户名",
    password: "密码",
    login_failed: "登录失败：{detail}",
    session_expired: "会话已结束，请重新登录。",
    engine: "引擎",
    engine_up: "运行",
    engine_down: "停止",
    conn_idle: "未连接",
    conn_connecting: "连接中…",
    conn_open: "实时",
    conn_reconnecting: "{seconds} 秒后重连（第 {attempt} 次）",
    conn_reconnecting_now: "重连中…",
    conn_closed: "已断开",
    conn_auth: "请重新登录",
    conn_resumed: "已从 #{seq} 之后续传",
    conn_resynced: "已重新加载（续传点已失效）",
    conn_nats_down: "网关与 NATS 断开",
    retry_now: "立即重连",
    contracts: "合约",
    search: "搜索合约",
    no_contracts: "没有匹配的合约",
    quote: "行情",
    no_quote: "选择合约以查看行情",
    last: "最新价",
    change: "涨跌",
    volume: "数量",
    open: "开盘",
    high: "最高",
    low: "最低",
    limit_up: "涨停",
    limit_down: "跌停",
    bid: "买",
    ask: "卖",
    price: "价格",
    chart: "价格走势",
    ticket: "下单",
    contract: "合约",
    direction: "方向",
    offset: "开平",
    type: "类型",
    buy: "买入",
    sell: "卖出",
    submit: "下单",
    submitting: "发送中…",
    order_sent: "委托 {id}：{status}",
    order_rejected: "委托 {id} 被拒：{reason}",
    pick_contract: "请先选择合约",
    hint_tick: "最小变动价位 {tick}",
    hint_min_volume: "最小数量 {min}",
    hint_limits: "跌停 {down} – 涨停 {up}",
    err_volume_positive: "数量必须是大于 0 的数字",
    err_volume_min: "数量不能小于 {min}",
    err_volume_max: "数量不能大于 {max}",
    err_volume_grid: "数量必须是 {step} 的整数倍",
    err_price_positive: "价格必须是大于 0 的数字",
    err_price_grid: "价格必须是最小变动价位 {tick} 的整数倍",
    err_price_up: "价格高于涨停价 {limit}",
    err_price_down: "价格低于跌停价 {limit}",
    server_error: "{detail}",
    server_error_field: "{detail}（{field}）",
    active_orders: "活动委托",
    orders: "委托",
    trades: "成交",
    positions: "持仓",
    accounts: "资金",
    log: "日志",
    cancel: "撤单",
    cancel_all: "全部撤单",
    cancelled_n: "已撤销 {n} 笔委托",
    none: "暂无",
    time: "时间",
    order_id: "委托号",
    trade_id: "成交号",
    status: "状态",
    traded: "已成交",
    reason: "原因",
    frozen: "冻结",
    pnl: "盈亏",
    yd_volume: "昨仓",
    account: "账号",
    balance: "余额",
    available: "可用",
    message: "信息",
    // VeighNa's own Chinese enum values (schemas/enums.py)
    "enum.LONG": "多",
    "enum.SHORT": "空",
    "enum.NET": "净",
    "enum.NONE": "—",
    "enum.OPEN": "开",
    "enum.CLOSE": "平",
    "enum.CLOSETODAY": "平今",
    "enum.CLOSEYESTERDAY": "平昨",
    "enum.SUBMITTING": "提交中",
    "enum.NOTTRADED": "未成交",
    "enum.PARTTRADED": "部分成交",
    "enum.ALLTRADED": "全部成交",
    "enum.CANCELLED": "已撤销",
    "enum.REJECTED": "拒单",
    "enum.LIMIT": "限价",
    "enum.MARKET": "市价",
    "enum.FAK": "FAK",
    "enum.FOK": "FOK",
  },
};

let current = "en";
const listeners = new Set();

/** The language to start with: the saved choice, else the browser's. */
export function initialLanguage() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && saved in STRINGS) return saved;
  } catch {
    // storage disabled
  }
  const preferred = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return preferred.toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** The current language code ("en" or "zh"). */
export function language() {
  return current;
}

/** Switch language, remember it, re-translate the document and notify listeners. */
export function setLanguage(code) {
  current = code in STRINGS ? code : "en";
  try {
    localStorage.setItem(STORAGE_KEY, current);
  } catch {
    // storage disabled
  }
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  apply(document);
  for (const listener of listeners) listener(current);
}

/** Call `listener(code)` after every language switch. */
export function onLanguageChange(listener) {
  listeners.add(listener);
}

/** The string for `key` with {params} filled in. */
export function t(key, params = {}) {
  const template = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** An enum member's label (VeighNa's Chinese value in Chinese). */
export function enumLabel(value) {
  if (!value) return "";
  const key = `enum.${value}`;
  return STRINGS[current][key] ?? STRINGS.en[key] ?? value;
}

/** Translate every data-i18n* element below `root`. */
export function apply(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  document.title = t("title");
}
