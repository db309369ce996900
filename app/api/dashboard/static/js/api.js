// The native REST API with the x-api-key header. The key lives in this tab's sessionStorage only: never in a
// URL or a cookie. JSON numbers are kept as their exact text (strings), as the API sends them.

const KEY = "mockx.apiKey";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function storeKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** JSON.parse that keeps every number as its source text ("0.3", "49000.12345678"), exactly as sent. */
export function parseExact(text) {
  return JSON.parse(text, (_key, value, context) =>
    typeof value === "number" ? (context && context.source !== undefined ? context.source : String(value)) : value,
  );
}

export class Api {
  constructor() {
    this.key = storedKey();
    this.account = null; // the admin's ?account=<name>; null: the key's own account
  }

  headers(extra = {}) {
    const headers = { Accept: "application/json", ...extra };
    if (this.key) headers["x-api-key"] = this.key;
    return headers;
  }

  url(path, query = {}) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
    }
    if (this.account) params.set("account", this.account);
    const qs = params.toString();
    return qs ? `${path}?${qs}` : path;
  }

  async request(method, path, { query = {}, body, signal } = {}) {
    const init = { method, headers: this.headers(), signal, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(this.url(path, query), init);
    const text = await response.text();
    let data = null;
    try {
      data = text ? parseExact(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const err = data && data.error ? data.error : { code: `HTTP ${response.status}`, message: text || response.statusText };
      throw new ApiError(response.status, err.code, err.message);
    }
    return data;
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }

  cancel(orderId) {
    return this.request("DELETE", `/orders/${encodeURIComponent(orderId)}`);
  }
}
