// The MockX dashboard: reads the native API, follows GET /events, redraws what each event touches.

import { Api, ApiError, storeKey } from "./api.js";
import { CandleChart, EquityChart, TIMEFRAMES } from "./charts.js";
import { EventStream } from "./stream.js";
import { $, cash, fill, num, row, signed, time } from "./view.js";

const api = new Api();
const state = { who: null, symbol: null, timeframe: "1m", cash: "USDT", seenOrders: null, seenFills: null };
let candles = null;
let equity = null;
let stream = null;
let polling = null;

// ---------------------------------------------------------------------------------------------------------
// refreshes: each runs at most once at a time; asked again while it runs, it runs once more afterwards

const tasks = new Map();

function schedule(name, delay = 120) {
  const task = tasks.get(name) || { timer: null, running: false, again: false };
  tasks.set(name, task);
  if (task.running) {
    task.again = true;
    return;
  }
  if (task.timer) return;
  task.timer = setTimeout(() => run(name, task), delay);
}

// The views that value the portfolio read every ticker; they run one after the other. (Concurrent first reads
// of the tickers in one API process can fail with a 500 while its list of markets is refreshed: an engine race
// reported with this dashboard; one at a time from the page avoids it.)
const SERIAL = new Set(["balances", "capital", "equity"]);
let serial = Promise.resolve();

async function run(name, task) {
  task.timer = null;
  task.running = true;
  try {
    if (SERIAL.has(name)) {
      const turn = serial.then(() => REFRESH[name]());
      serial = turn.catch(() => {});
      await turn;
    } else {
      await REFRESH[name]();
    }
    clearError(name);
  } catch (err) {
    showError(name, err);
  } finally {
    task.running = false;
    if (task.again) {
      task.again = false;
      schedule(name);
    }
  }
}

const errors = new Map();

function showError(name, err) {
  if (err instanceof ApiError && err.status === 401) {
    askKey(`The server refused the API key: ${err.message}`);
    return;
  }
  errors.set(name, err instanceof ApiError ? `${err.code}: ${err.message}` : String(err.message || err));
  renderErrors();
}

function clearError(name) {
  if (errors.delete(name)) renderErrors();
}

function renderErrors() {
  const banner = $("page-error");
  banner.textContent = [...new Set(errors.values())].join(" · ");
  banner.hidden = errors.size === 0;
}

// ---------------------------------------------------------------------------------------------------------
// what each part of the page shows

const REFRESH = {
  async balances() {
    const v = await api.get("/overview/assets");
    $("value-head").textContent = `Value (${v.cashAsset})`;
    const rows = v.assets.map((a) =>
      row([a.asset, num(a.free), num(a.used), num(a.total), num(a.price), num(a.value)], { "data-asset": a.asset }),
    );
    fill($("balances").tBodies[0], rows);
    $("balances-total").textContent = `${num(v.totalValue)} ${v.cashAsset}`;
    if (v.unpriced.length) $("balances-total").textContent += ` (not valued: ${v.unpriced.join(", ")})`;
  },

  async capital() {
    const c = await api.get("/overview/capital");
    const unit = ` ${c.cashAsset}`;
    const show = (id, value) => {
      const el = $(id);
      el.textContent = cash(value) + unit;
      el.title = `${value}${unit} (exact)`;
      el.dataset.exact = String(value);
    };
    show("cap-equity", c.equity);
    show("cap-net", c.netDeposits);
    show("cap-profit", c.profit);
    show("cap-fees", c.fees);
    const profit = $("cap-profit");
    profit.className = `big ${signed(c.profit)}`;
    if (c.profitPct !== null) {
      const pct = document.createElement("small");
      pct.textContent = ` ${num(c.profitPct)} %`;
      profit.append(pct);
    }
  },

  async equity() {
    const curve = await api.get("/ui/api/equity");
    equity.setCurve(curve);
    $("equity-hint").textContent =
      `snapshots every ${Number(curve.sampleSeconds)} s while the page is open, at most ${curve.maxPoints} ` +
      "(kept in this API process's memory, since it first showed this account)";
  },

  async orders() {
    const orders = await api.get("/orders", { status: "open", limit: 500 });
    orders.reverse(); // newest first
    const rows = orders.map((o) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "quiet cancel";
      button.textContent = "Cancel";
      button.setAttribute("aria-label", `Cancel order ${o.id}: ${o.side} ${o.amount} ${o.symbol} at ${o.price ?? "market"}`);
      button.addEventListener("click", () => cancel(o, button));
      const price = o.price ?? o.triggerPrice ?? o.stopPrice;
      return row(
        [String(o.id), o.symbol, { text: o.side, cls: `side-${o.side}` }, o.type, num(price), num(o.remaining ?? o.amount),
          time(o.timestamp), button],
        { "data-key": String(o.id), "data-order-id": String(o.id) },
      );
    });
    state.seenOrders = fill($("orders").tBodies[0], rows, state.seenOrders);
    $("orders-empty").hidden = rows.length > 0;
    candles.setOrders(orders.filter((o) => o.symbol === state.symbol));
  },

  async fills() {
    const trades = await api.get("/trades", { limit: 30 });
    trades.reverse();
    const rows = trades.map((t) =>
      row(
        [time(t.timestamp), t.symbol, { text: t.side, cls: `side-${t.side}` }, num(t.price), num(t.amount), num(t.cost),
          t.fee ? `${num(t.fee.cost)} ${t.fee.currency}` : "–", t.takerOrMaker],
        { "data-key": String(t.id), "data-trade-id": String(t.id) },
      ),
    );
    state.seenFills = fill($("fills").tBodies[0], rows, state.seenFills);
    $("fills-empty").hidden = rows.length > 0;
  },

  async markers() {
    if (!state.symbol) return;
    candles.setFills(await api.get("/trades", { symbol: state.symbol, limit: 500 }));
  },

  async stats() {
    const s = await api.get("/overview/trades");
    $("stats-summary").textContent =
      `${s.trades} fills: ${s.buys} buys, ${s.sells} sells; ${s.makers} maker, ${s.takers} taker` +
      s.byQuote.map((q) => ` · ${num(q.volume)} ${q.quote} traded, ${num(q.fees)} ${q.quote} fees`).join("");
    const rows = [];
    for (const sym of s.bySymbol) {
      for (const side of ["buy", "sell"]) {
        const x = sym[side];
        if (Number(x.count) === 0) continue;
        rows.push(row([sym.symbol, { text: side, cls: `side-${side}` }, x.count, x.maker, x.taker,
          `${num(x.base)} ${sym.base}`, `${num(x.quote)} ${sym.quote}`, `${num(x.fee)} ${sym.quote}`]));
      }
    }
    fill($("stats").tBodies[0], rows);
  },

  async candles() {
    if (!state.symbol) {
      $("candles-hint").textContent = "no market has a price yet";
      return;
    }
    const rows = await api.get(`/markets/${encodeURIComponent(state.symbol)}/ohlcv`, {
      timeframe: state.timeframe, limit: 500,
    });
    candles.setCandles(rows);
    $("candles-hint").textContent = rows.length ? "" : "no candle in this interval yet";
  },

  async markets() {
    const markets = await api.get("/markets");
    const select = $("symbol-select");
    const symbols = markets.map((m) => m.symbol);
    const wanted = state.symbol || sessionStorage.getItem("mockx.symbol");
    const chosen = symbols.includes(wanted) ? wanted : symbols[0] || null;
    select.replaceChildren(...symbols.map((s) => new Option(s, s, false, s === chosen)));
    if (chosen !== state.symbol) chooseSymbol(chosen);
  },

  async health() {
    const card = $("health-card");
    const details = $("health-details");
    if (!state.who.admin) {
      $("health-status").textContent = "admin key only";
      card.dataset.status = "";
      return;
    }
    const h = await api.get("/ui/api/health");
    $("health-status").textContent = h.status;
    card.dataset.status = h.status;
    const p = h.prices;
    const items = [
      ["Valkey", h.valkey.reachable ? `up, ${num(h.valkey.latencyMs)} ms${h.valkey.memoryPct !== null ? `, ${num(h.valkey.memoryPct)} % memory` : ""}` : `down: ${h.valkey.error}`],
      ["workers", `${h.workersAlive} alive${h.workers.length ? `: ${h.workers.map((w) => w.name).join(", ")}` : ""}`],
      ["backlog", p ? backlog(p) : "no price stream yet"],
    ];
    if (h.problems.length) items.push(["problems", h.problems.join("; ")]);
    details.replaceChildren(...items.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      return [dt, dd];
    }));
  },
};

function backlog(p) {
  if (!p.groupExists) return `${p.length} ticks in the stream, no settlement worker has read it yet`;
  return `${p.lag ?? "unknown"} waiting, ${p.pending ?? 0} being settled (${p.length} in the stream)`;
}

const ACCOUNT_VIEWS = ["balances", "capital", "equity", "orders", "fills", "markers", "stats"];

function refreshAll() {
  for (const name of ["markets", ...ACCOUNT_VIEWS, "candles", "health"]) schedule(name, 0);
}

// ---------------------------------------------------------------------------------------------------------
// events

let tickerRefresh = 0;

function onEvent(event) {
  const type = event.type;
  if (type.startsWith("order.")) {
    const order = event.data.order;
    for (const name of ["orders", "balances", "capital"]) schedule(name);
    if (type === "order.filled") for (const name of ["fills", "stats", "equity"]) schedule(name);
    if (order && order.symbol === state.symbol) schedule("markers");
  } else if (type === "balance.changed") {
    for (const name of ["balances", "capital", "equity"]) schedule(name);
  } else if (type === "ticker.updated") {
    const now = Date.now();
    if (now - tickerRefresh > 1000) {
      tickerRefresh = now;
      schedule("balances", 300);
      schedule("capital", 300);
    }
    if (event.data.ticker.symbol === state.symbol) schedule("candles", 300);
  } else if (type === "market.created") {
    schedule("markets");
  } else if (type === "exchange.reset") {
    refreshAll();
  }
}

function onStatus(kind, text, code) {
  if (code === 401) {
    askKey(`The server refused the API key: ${text}`); // rotated or deleted while the page was open
    return;
  }
  const status = $("stream-status");
  status.dataset.state = kind;
  status.textContent = text;
  if (kind === "live") refreshAll(); // also after a reconnect: whatever the events missed is read again
}

function onGap(gap) {
  // the capped events stream no longer held every event since the last one seen: read everything again
  $("stream-status").textContent += ` (some events were trimmed while away: the page was read again; ${gap.message})`;
  refreshAll();
}

function startStream() {
  if (stream) stream.stop();
  stream = new EventStream(api, { onEvent, onStatus, onGap });
  window.mockxStream = stream; // for the browser tests: interrupt() drops the connection as a network failure would
  stream.start();
}

// ---------------------------------------------------------------------------------------------------------
// actions

async function cancel(order, button) {
  button.disabled = true;
  button.textContent = "Canceling…";
  try {
    await api.cancel(order.id);
    schedule("orders", 0);
  } catch (err) {
    button.disabled = false;
    button.textContent = "Cancel";
    showError("cancel", err);
  }
}

function chooseSymbol(symbol) {
  state.symbol = symbol;
  if (symbol) sessionStorage.setItem("mockx.symbol", symbol);
  candles.reset(state.timeframe);
  for (const name of ["candles", "markers", "orders"]) schedule(name, 0);
}

function chooseAccount(name) {
  api.account = name === state.who.account ? null : name;
  $("who").textContent = describeWho();
  state.seenOrders = state.seenFills = null;
  equity.reset();
  candles.reset(state.timeframe);
  errors.clear();
  renderErrors();
  startStream();
}

function accountOptions(names) {
  const select = $("account-select");
  const current = api.account || state.who.account;
  const listed = [...select.options].map((o) => o.value);
  if (listed.length === names.length && listed.every((n, i) => n === names[i])) return;
  select.replaceChildren(...names.map((n) => new Option(n, n, false, n === current)));
}

/** The admin's account menu, read again when it is about to be used: accounts made since the page opened. */
async function refreshAccounts() {
  if (!state.who || !state.who.admin) return;
  try {
    accountOptions((await api.get("/ui/api/whoami")).accounts);
  } catch (err) {
    showError("accounts", err);
  }
}

function describeWho() {
  const acting = api.account || state.who.account;
  return state.who.admin ? `admin key, acting on ${acting}` : `account ${acting}`;
}

// ---------------------------------------------------------------------------------------------------------
// start-up and the key

function askKey(message) {
  if (stream) stream.stop();
  $("main").hidden = true;
  $("auth").hidden = false;
  $("forget-key").hidden = true;
  $("auth-error").textContent = message || "";
  $("stream-status").dataset.state = "idle";
  $("stream-status").textContent = "not connected";
  $("auth-key").focus();
}

async function connect() {
  const required = document.querySelector('meta[name="mockx-auth"]').content === "required";
  if (required && !api.key) {
    askKey("");
    return;
  }
  try {
    state.who = await api.get("/ui/api/whoami");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      const had = Boolean(api.key);
      storeKey("");
      api.key = "";
      askKey(had ? `The server refused this API key: ${err.message}` : "");
      return;
    }
    $("auth").hidden = true;
    $("main").hidden = false;
    showError("start", err);
    return;
  }
  storeKey(api.key);
  $("auth").hidden = true;
  $("main").hidden = false;
  $("forget-key").hidden = !api.key;
  $("who").textContent = describeWho();
  const picker = $("account-picker");
  picker.hidden = !state.who.admin;
  if (state.who.admin) accountOptions(state.who.accounts);
  if (!candles) {
    candles = new CandleChart($("candle-chart"), $("candle-notes"));
    equity = new EquityChart($("equity-chart"), $("equity-notes"));
  }
  startStream();
  if (!polling) {
    polling = setInterval(() => {
      schedule("health");
      schedule("equity");
    }, 10000);
  }
}

function setup() {
  $("timeframe-select").replaceChildren(...TIMEFRAMES.map((t) => new Option(t, t, false, t === state.timeframe)));
  $("timeframe-select").addEventListener("change", (e) => {
    state.timeframe = e.target.value;
    candles.reset(state.timeframe);
    schedule("candles", 0);
    schedule("markers", 0);
  });
  $("symbol-select").addEventListener("change", (e) => chooseSymbol(e.target.value));
  $("account-select").addEventListener("change", (e) => chooseAccount(e.target.value));
  $("account-select").addEventListener("focus", refreshAccounts);
  $("account-select").addEventListener("pointerdown", refreshAccounts);
  $("forget-key").addEventListener("click", () => {
    storeKey("");
    api.key = "";
    askKey("The key was forgotten: enter one to connect again.");
  });
  $("auth-form").addEventListener("submit", (e) => {
    e.preventDefault();
    api.key = $("auth-key").value.trim();
    $("auth-key").value = "";
    $("auth-error").textContent = "Checking…";
    connect();
  });
  connect();
}

setup();
