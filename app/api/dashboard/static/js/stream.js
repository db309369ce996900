// GET /events read with fetch (an EventSource cannot send the x-api-key header): the SSE text is parsed here,
// the last event id kept, and after a disconnect the stream is opened again with Last-Event-ID, so nothing
// is missed and nothing comes twice. A "closed" message (the server dropped a slow reader) carries lastId.

import { parseExact } from "./api.js";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

export class EventStream {
  constructor(api, { onEvent, onStatus, onGap }) {
    this.api = api;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onGap = onGap || (() => {});
    this.lastId = null;
    this.controller = null;
    this.stopped = true;
    this.failures = 0;
  }

  start() {
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  /** Drop the connection now (as a network failure would); the loop reconnects from the last id. */
  interrupt() {
    if (this.controller) this.controller.abort("interrupt");
  }

  async loop() {
    while (!this.stopped) {
      try {
        await this.once();
        this.failures = 0;
      } catch (err) {
        if (this.stopped) return;
        if (err && err.fatal) {
          this.onStatus("failed", err.message, err.status);
          return;
        }
        this.failures += 1;
      }
      if (this.stopped) return;
      const wait = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
      this.onStatus("reconnecting", `reconnecting in ${wait / 1000} s, from event ${this.lastId || "now"}`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async once() {
    this.controller = new AbortController();
    const headers = this.api.headers({ Accept: "text/event-stream" });
    if (this.lastId) headers["Last-Event-ID"] = this.lastId;
    let response;
    try {
      response = await fetch(this.api.url("/events"), {
        headers, signal: this.controller.signal, cache: "no-store", credentials: "omit",
      });
    } catch (err) {
      throw err;
    }
    if (!response.ok) {
      const text = await response.text();
      let message = text;
      try {
        message = JSON.parse(text).error.message;
      } catch {
        // not the API's error shape: keep the text
      }
      const err = new Error(`event stream refused (${response.status}): ${message}`);
      err.fatal = response.status === 401 || response.status === 403 || response.status === 404;
      err.status = response.status;
      throw err;
    }
    this.onStatus("live", this.lastId ? `live (resumed after ${this.lastId})` : "live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        this.message(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
  }

  message(block) {
    let id = null;
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") type = value;
      else if (field === "data") data.push(value);
    }
    if (id) this.lastId = id; // the opening comment carries the starting cursor as its id
    if (!data.length) return;
    const payload = parseExact(data.join("\n"));
    if (type === "closed") {
      if (payload.lastId) this.lastId = payload.lastId;
      return;
    }
    if (type === "gap") {
      this.onGap(payload);
      return;
    }
    this.onEvent(payload);
  }
}
