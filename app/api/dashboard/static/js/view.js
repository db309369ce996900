// Small DOM helpers and formatting. Numbers arrive as their exact text (see api.js): shown as sent, with the
// integer part grouped by thousands, never rounded through a float.

export const $ = (id) => document.getElementById(id);

export function num(value) {
  if (value === null || value === undefined || value === "") return "–";
  const text = String(value);
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(text);
  if (!match) return text;
  return `${match[1]}${match[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${match[3] || ""}`;
}

const CASH = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** An amount of the cash asset to the cent, for the summary cards; rounded from its exact text, never a float. */
export function cash(value) {
  if (value === null || value === undefined || value === "") return "–";
  return CASH.format(String(value)); // Intl formats a decimal string exactly
}

const CLOCK = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };

export function time(ms) {
  if (ms === null || ms === undefined) return "–";
  const d = new Date(Number(ms));
  const today = new Date().toDateString() === d.toDateString();
  const clock = d.toLocaleTimeString("en-GB", CLOCK);
  return today ? clock : `${d.toLocaleDateString("en-CA")} ${clock}`;
}

/** A table row of cells: each a string (text) or a Node; ``{text, cls}`` for a cell with a class. */
export function row(cells, attrs = {}) {
  const tr = document.createElement("tr");
  for (const [name, value] of Object.entries(attrs)) tr.setAttribute(name, value);
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.append(cell);
    else if (cell && typeof cell === "object") {
      td.textContent = cell.text;
      if (cell.cls) td.className = cell.cls;
    } else td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

/** Replace a table body's rows; rows whose key is new get the "fresh" highlight. */
export function fill(tbody, rows, previous) {
  const keys = new Set();
  for (const tr of rows) {
    const key = tr.dataset.key;
    keys.add(key);
    if (previous && key && !previous.has(key)) tr.classList.add("fresh");
  }
  tbody.replaceChildren(...rows);
  return keys;
}

export function signed(value) {
  const n = Number(value);
  return n > 0 ? "pos" : n < 0 ? "neg" : "";
}
