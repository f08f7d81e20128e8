// The echo page: one WebSocket to /ws/echo on this server, reopened with capped
// exponential backoff whenever it closes. Plain browser JavaScript, no build step.
"use strict";

(() => {
  const FIRST_RETRY_MS = 500; // the wait after the first close...
  const MAX_RETRY_MS = 8000; // ...doubles on every failed attempt, up to this
  const MAX_LOG_ENTRIES = 200; // older lines are dropped, so the page stays small

  const statusEl = document.getElementById("status");
  const form = document.getElementById("echo-form");
  const input = document.getElementById("message");
  const binaryBox = document.getElementById("binary");
  const sendButton = document.getElementById("send");
  const log = document.getElementById("log");

  // Same host and port as the page; wss: when the page came over https:.
  const url = new URL("/ws/echo", window.location.href);
  url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";

  let socket = null;
  let retryMs = FIRST_RETRY_MS;

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
    sendButton.disabled = state !== "open";
  }

  function addLog(kind, text) {
    const item = document.createElement("li");
    item.className = kind;
    // textContent, never innerHTML: echoed text is shown, not interpreted.
    item.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
    log.append(item);
    while (log.childElementCount > MAX_LOG_ENTRIES) {
      log.firstElementChild.remove();
    }
    item.scrollIntoView({ block: "nearest" });
  }

  function describe(data) {
    if (typeof data === "string") {
      return `text ${JSON.stringify(data)}`;
    }
    // ArrayBuffer (received) or Uint8Array (sent); shown decoded when it is UTF-8.
    const text = new TextDecoder("utf-8", { fatal: false }).decode(data);
    return `binary, ${data.byteLength} bytes: ${JSON.stringify(text)}`;
  }

  function connect() {
    setStatus("connecting", "connecting");
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    socket = ws;

    ws.addEventListener("open", () => {
      retryMs = FIRST_RETRY_MS; // a connection that opened resets the backoff
      setStatus("open", "open");
      addLog("info", `connected to ${url}`);
    });

    ws.addEventListener("message", (event) => {
      addLog("received", describe(event.data));
    });

    // "close" follows every failure ("error" too), so reconnecting here covers all.
    ws.addEventListener("close", (event) => {
      socket = null;
      const wait = retryMs;
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      const reason = event.reason ? `, reason ${JSON.stringify(event.reason)}` : "";
      const seconds = (wait / 1000).toFixed(1);
      setStatus("closed", `closed (code ${event.code}${reason}), reconnecting in ${seconds} s`);
      addLog("info", `closed with code ${event.code}${reason}`);
      window.setTimeout(connect, wait);
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (socket === null || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    const text = input.value;
    const data = binaryBox.checked ? new TextEncoder().encode(text) : text;
    socket.send(data);
    addLog("sent", describe(data));
    input.value = "";
    input.focus();
  });

  connect();
})();
