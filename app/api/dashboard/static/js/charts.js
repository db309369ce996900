// The two charts, on TradingView Lightweight Charts (vendored, see ../vendor/lightweight-charts/README.md).
// Canvas says nothing to a screen reader or a test, so each chart also writes what it draws as text into a
// list beside it (#candle-notes, #equity-notes) and counts into data attributes of its container.

import {
  CandlestickSeries,
  LineSeries,
  LineStyle,
  createChart,
  createSeriesMarkers,
} from "../vendor/lightweight-charts/lightweight-charts.standalone.production.js";

const BUY = "#11805c";
const SELL = "#c0392b";

const TIMEFRAME_MS = {
  "1m": 60e3, "3m": 180e3, "5m": 300e3, "15m": 900e3, "30m": 1800e3, "1h": 3600e3, "2h": 7200e3,
  "4h": 14400e3, "6h": 21600e3, "8h": 28800e3, "12h": 43200e3, "1d": 86400e3, "3d": 259200e3, "1w": 604800e3,
};
export const TIMEFRAMES = [...Object.keys(TIMEFRAME_MS), "1M"];

function baseOptions() {
  return {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#1b2430", fontSize: 12 },
    grid: { vertLines: { color: "#eef1f5" }, horzLines: { color: "#eef1f5" } },
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#d9dee5" },
    rightPriceScale: { borderColor: "#d9dee5" },
    localization: { locale: "en-US" },
  };
}

function precisionOf(price) {
  const p = Math.abs(price);
  if (p >= 1000) return 2;
  if (p >= 1) return 4;
  return 8;
}

/** The open time (UTC seconds) of the candle of ``timeframe`` holding ``ms`` — what the chart's bars use. */
function bucket(ms, timeframe, bars) {
  if (timeframe === "1M" || timeframe === "1w" || timeframe === "3d") {
    // calendar intervals: the last bar that opened at or before the fill
    const t = ms / 1000;
    let found = null;
    for (const bar of bars) if (bar.time <= t) found = bar.time;
    return found;
  }
  const size = TIMEFRAME_MS[timeframe];
  return Math.floor(ms / size) * size / 1000;
}

function notes(list, lines) {
  list.replaceChildren(...lines.map((text) => {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  }));
}

export class CandleChart {
  constructor(container, notesList) {
    this.container = container;
    this.notesList = notesList;
    this.chart = createChart(container, baseOptions());
    this.series = this.chart.addSeries(CandlestickSeries, {
      upColor: BUY, downColor: SELL, borderUpColor: BUY, borderDownColor: SELL, wickUpColor: BUY, wickDownColor: SELL,
      autoscaleInfoProvider: (original) => this.autoscale(original()), // open orders stay in view
    });
    this.markers = createSeriesMarkers(this.series, []);
    this.lines = [];
    this.bars = [];
    this.fills = [];
    this.orders = [];
    this.timeframe = "1m";
    this.fitted = false;
  }

  /** The price range the candles need, widened to every open order's price and trigger. */
  autoscale(info) {
    const prices = this.orders.flatMap((o) => [o.price, o.triggerPrice ?? o.stopPrice])
      .filter((p) => p !== null && p !== undefined).map(Number);
    if (!prices.length) return info;
    const range = info && info.priceRange ? [info.priceRange.minValue, info.priceRange.maxValue] : [];
    return { ...info, priceRange: { minValue: Math.min(...range, ...prices), maxValue: Math.max(...range, ...prices) } };
  }

  reset(timeframe) {
    this.timeframe = timeframe;
    this.bars = [];
    this.fills = [];
    this.orders = [];
    this.fitted = false;
    this.series.setData([]);
    this.draw();
  }

  setCandles(rows) {
    this.bars = rows.map(([ts, open, high, low, close]) => ({
      time: Number(ts) / 1000, open: Number(open), high: Number(high), low: Number(low), close: Number(close),
    }));
    const last = this.bars.length ? this.bars[this.bars.length - 1].close : 1;
    const precision = precisionOf(last);
    this.series.applyOptions({ priceFormat: { type: "price", precision, minMove: 10 ** -precision } });
    this.series.setData(this.bars);
    if (!this.fitted && this.bars.length) {
      this.chart.timeScale().fitContent();
      this.fitted = true;
    }
    this.draw();
  }

  setFills(trades) {
    this.fills = trades;
    this.draw();
  }

  setOrders(orders) {
    this.orders = orders;
    this.draw();
  }

  draw() {
    const markers = [];
    const text = [];
    const labelled = this.fills.length <= 12; // many fills: arrows only, the text would hide the candles
    for (const t of this.fills) {
      const time = this.bars.length ? bucket(Number(t.timestamp), this.timeframe, this.bars) : null;
      const buy = t.side === "buy";
      text.push(`${t.side} fill ${t.amount} at ${t.price} (${t.takerOrMaker}, ${new Date(Number(t.timestamp)).toLocaleTimeString()})`);
      if (time === null) continue;
      markers.push({
        time, position: buy ? "belowBar" : "aboveBar", color: buy ? BUY : SELL,
        shape: buy ? "arrowUp" : "arrowDown", text: labelled ? `${buy ? "B" : "S"} ${t.amount}` : "",
        id: `trade-${t.id}`,
      });
    }
    markers.sort((a, b) => a.time - b.time);
    this.markers.setMarkers(markers);

    for (const line of this.lines) this.series.removePriceLine(line);
    this.lines = [];
    for (const o of this.orders) {
      const color = o.side === "buy" ? BUY : SELL;
      if (o.price !== null && o.price !== undefined) {
        this.lines.push(this.series.createPriceLine({
          price: Number(o.price), color, lineWidth: 1, lineStyle: LineStyle.Solid, axisLabelVisible: true,
          title: `${o.side} ${o.remaining ?? o.amount} #${o.id}`,
        }));
        text.push(`open ${o.side} order #${o.id}: ${o.remaining ?? o.amount} at ${o.price}`);
      }
      const trigger = o.triggerPrice ?? o.stopPrice;
      if (trigger !== null && trigger !== undefined) {
        this.lines.push(this.series.createPriceLine({
          price: Number(trigger), color, lineWidth: 1, lineStyle: LineStyle.Dashed, axisLabelVisible: true,
          title: `trigger #${o.id}`,
        }));
        text.push(`trigger of order #${o.id} at ${trigger}`);
      }
    }
    this.container.dataset.bars = String(this.bars.length);
    this.container.dataset.markers = String(markers.length);
    this.container.dataset.priceLines = String(this.lines.length);
    notes(this.notesList, text);
  }
}

export class EquityChart {
  constructor(container, notesList) {
    this.container = container;
    this.notesList = notesList;
    this.chart = createChart(container, baseOptions());
    this.net = this.chart.addSeries(LineSeries, {
      color: "#9aa5b4", lineWidth: 1, lineStyle: LineStyle.Dashed, priceLineVisible: false, lastValueVisible: false,
      crosshairMarkerVisible: false,
    });
    this.equity = this.chart.addSeries(LineSeries, { color: "#1f4e8c", lineWidth: 2 });
    this.markers = createSeriesMarkers(this.equity, []);
    this.fitted = false;
  }

  reset() {
    this.fitted = false;
    this.equity.setData([]);
    this.net.setData([]);
    this.markers.setMarkers([]);
  }

  setCurve(curve) {
    // the chart's times must grow strictly: milliseconds as fractional seconds, a tie nudged by 1 ms
    const points = [];
    for (const p of curve.points) {
      let time = Number(p.ts) / 1000;
      if (points.length && time <= points[points.length - 1].time) time = points[points.length - 1].time + 0.001;
      points.push({ time, equity: Number(p.equity), net: Number(p.netDeposits), flow: Number(p.flow) });
    }
    const precision = points.length ? precisionOf(points[points.length - 1].equity) : 2;
    const priceFormat = { type: "price", precision, minMove: 10 ** -precision };
    this.equity.applyOptions({ priceFormat, pointMarkersVisible: points.length < 40 }); // a few points: show each
    this.net.applyOptions({ priceFormat });
    this.equity.setData(points.map((p) => ({ time: p.time, value: p.equity })));
    this.net.setData(points.map((p) => ({ time: p.time, value: p.net })));
    const flows = points.filter((p) => p.flow !== 0);
    this.markers.setMarkers(flows.map((p) => ({
      time: p.time, position: p.flow > 0 ? "belowBar" : "aboveBar", color: p.flow > 0 ? BUY : SELL, shape: "circle",
      text: `${p.flow > 0 ? "+" : ""}${p.flow.toLocaleString("en-US", { maximumFractionDigits: precision })}`,
    })));
    if (!this.fitted && points.length > 1) {
      this.chart.timeScale().fitContent();
      this.fitted = true;
    }
    const last = curve.points[curve.points.length - 1];
    this.container.dataset.points = String(points.length);
    this.container.dataset.flows = String(flows.length);
    this.container.dataset.equity = last ? String(last.equity) : "";
    const lines = curve.points
      .filter((p) => Number(p.flow) !== 0)
      .map((p) => `${Number(p.flow) > 0 ? "deposit" : "withdrawal"} of ${p.flow} ${curve.cashAsset} at ${new Date(Number(p.ts)).toLocaleTimeString()}`);
    if (last) lines.push(`equity now ${last.equity} ${curve.cashAsset}, net deposits ${last.netDeposits}`);
    notes(this.notesList, lines);
  }
}
