// The demo page: four panels, each with its own WebSocket to this server, every
// one reopened with capped exponential backoff whenever it closes.
// Plain browser JavaScript, no build step, no libraries.
"use strict";

(() => {
  const FIRST_RETRY_MS = 500; // the wait after the first close...
  const MAX_RETRY_MS = 8000; // ...doubles on every failed attempt, up to this
  const MAX_LOG_ENTRIES = 200; // older chat lines are dropped, so the page stays small
  const STATS_EVERY_MS = 1000; // how often the statistics panel asks the server

  const $ = (id) => document.getElementById(id);

  // A WebSocket to `path()` (called at every attempt) that reopens itself after
  // every close: FIRST_RETRY_MS, doubling up to MAX_RETRY_MS, reset by an open.
  // `statusEl` shows the state; the handlers get the parsed JSON of each message,
  // and the close event with whether that socket had opened. Returns { send(value) -> bool }.
  function keepOpen(path, statusEl, { onOpen, onMessage, onClose } = {}) {
    let socket = null;
    let retryMs = FIRST_RETRY_MS;

    function setStatus(state, text) {
      statusEl.dataset.state = state;
      statusEl.textContent = text;
    }

    function connect() {
      // Same host and port as the page; wss: when the page came over https:.
      const url = new URL(path(), window.location.href);
      url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
      setStatus("connecting", "connecting");
      const ws = new WebSocket(url);
      let opened = false;
      socket = ws;

      ws.addEventListener("open", () => {
        opened = true;
        retryMs = FIRST_RETRY_MS;
        setStatus("open", "open");
        if (onOpen) onOpen();
      });

      ws.addEventListener("message", (event) => {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch {
          return; // every endpoint used here sends JSON
        }
        if (onMessage) onMessage(data);
      });

      // "close" follows every failure ("error" too), so reconnecting here covers all.
      ws.addEventListener("close", (event) => {
        socket = null;
        const wait = retryMs;
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
        setStatus("closed", `closed ${event.code}, retry in ${(wait / 1000).toFixed(1)} s`);
        if (onClose) onClose(event, opened);
        window.setTimeout(connect, wait);
      });
    }

    connect();
    return {
      send(value) {
        if (socket === null || socket.readyState !== WebSocket.OPEN) return false;
        socket.send(typeof value === "string" ? value : JSON.stringify(value));
        return true;
      },
    };
  }

  function timeOf(iso) {
    return new Date(iso).toLocaleTimeString();
  }

  // ------------------------------------------------------------------ chat + stats
  const params = new URLSearchParams(window.location.search);
  const wanted = params.get("room") || "lobby";
  // Path-safe room names only; anything else falls back to the lobby.
  const room = /^[A-Za-z0-9_-]{1,32}$/.test(wanted) ? wanted : "lobby";
  $("room-name").textContent = room;

  const nameInput = $("name");
  const messageInput = $("message");
  const sendButton = $("send");
  const log = $("log");
  nameInput.value = `guest-${Math.floor(1000 + Math.random() * 9000)}`;

  function addLog(kind, text) {
    const item = document.createElement("li");
    item.className = kind;
    // textContent, never innerHTML: what others typed is shown, not interpreted.
    item.textContent = text;
    log.append(item);
    while (log.childElementCount > MAX_LOG_ENTRIES) log.firstElementChild.remove();
    log.scrollTop = log.scrollHeight;
  }

  const STAT_LABELS = {
    messages_in: "messages in",
    messages_out: "messages out",
    bytes_in: "bytes in",
    bytes_out: "bytes out",
    inbox_depth: "inbox depth",
    outbox_depth: "outbox depth",
    dropped_frames: "dropped frames",
    discarded_messages: "discarded messages",
    rate_limited_messages: "rate-limited messages",
    unsent_messages: "unsent messages",
    send_waits: "sends that waited",
  };

  function showStats(stats) {
    const body = document.createElement("tbody");
    for (const [key, label] of Object.entries(STAT_LABELS)) {
      if (!(key in stats)) continue;
      let value = String(stats[key]);
      if (key === "inbox_depth") value += ` / ${stats.inbox_size}`;
      if (key === "outbox_depth") value += ` / ${stats.outbox_size}`;
      const row = body.insertRow();
      row.dataset.key = key;
      row.insertCell().textContent = label;
      row.insertCell().textContent = value;
    }
    $("stats").tBodies[0].replaceWith(body);
    $("stats-updated").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  }

  const chat = keepOpen(
    () => `/ws/chat/${room}?name=${encodeURIComponent(nameInput.value)}`,
    $("chat-status"),
    {
      onOpen() {
        sendButton.disabled = false;
        chat.send({ stats: true });
      },
      onMessage(event) {
        if (event.type === "message") {
          addLog("message", `${timeOf(event.time)}  ${event.name}: ${event.text}`);
        } else if (event.type === "join" || event.type === "leave") {
          const verb = event.type === "join" ? "joined" : "left";
          addLog(event.type, `${timeOf(event.time)}  ${event.name} ${verb} ${event.room} (${event.online} online)`);
        } else if (event.type === "stats") {
          showStats(event.stats);
        }
      },
      onClose(event, opened) {
        sendButton.disabled = true;
        if (!opened) return; // a failed retry: the status badge shows those
        const reason = event.reason ? `: ${event.reason}` : "";
        addLog("info", `connection closed with code ${event.code}${reason}`);
      },
    },
  );

  window.setInterval(() => chat.send({ stats: true }), STATS_EVERY_MS);

  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = messageInput.value.trim();
    if (!text) return;
    // The server sends it back to everyone in the room, this page included.
    if (chat.send({ name: nameInput.value, text })) {
      messageInput.value = "";
      messageInput.focus();
    }
  });

  // ------------------------------------------------------------------ clock
  keepOpen(() => "/ws/clock", $("clock-status"), {
    onMessage(tick) {
      $("clock").textContent = `${tick.time.slice(11, 19)} UTC`;
      $("clock-local").textContent = `Your local time: ${timeOf(tick.time)}`;
    },
  });

  // ------------------------------------------------------------------ JSON box
  const jsonResult = $("json-result");
  const jsonSend = $("json-send");
  let pending = false; // a payload was sent and is not answered yet

  const jsonBox = keepOpen(() => "/ws/json", $("json-status"), {
    onOpen() {
      jsonSend.disabled = false;
    },
    onMessage(reply) {
      pending = false;
      jsonResult.dataset.state = "ok";
      jsonResult.textContent = JSON.stringify(reply, null, 2);
    },
    onClose(event) {
      jsonSend.disabled = true;
      if (!pending) return; // e.g. a server restart: the status badge tells
      pending = false;
      jsonResult.dataset.state = "error";
      jsonResult.textContent = `closed ${event.code} ${event.reason}`.trim();
    },
  });

  $("json-form").addEventListener("submit", (event) => {
    event.preventDefault();
    // Sent exactly as typed: the server, not the page, validates it.
    if (jsonBox.send($("json-input").value)) {
      pending = true;
      jsonResult.dataset.state = "waiting";
      jsonResult.textContent = "waiting for the reply...";
    }
  });
})();
