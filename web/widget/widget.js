/* Switchboard live-chat widget: one dependency-free script, rendered in a shadow root.
 *   <script async src="https://HOST/web/widget/widget.js" data-inbox="PUBLIC_KEY"></script>
 * Every string from outside (messages, names, settings) is set with textContent, never
 * innerHTML. Host-page API: window.Switchboard.open/close/setUser/setAttributes/on. */
(function () {
  "use strict";
  if (window.Switchboard && window.Switchboard.loaded) return;
  var script = document.currentScript || document.querySelector("script[data-inbox]");
  if (!script) return;
  var KEY = script.getAttribute("data-inbox") || "";
  var BASE = script.src.replace(/\/web\/widget\/widget\.js.*$/, "");
  var API = BASE + "/api/widget/" + encodeURIComponent(KEY) + "/";
  var WS_URL = BASE.replace(/^http/, "ws") + "/widget/ws?key=" + encodeURIComponent(KEY);
  var STORE = "switchboard:" + KEY + ":";
  var pending = window.Switchboard && window.Switchboard.q; // calls made before we loaded

  var S = {
    cfg: null, token: load("token"), lastEvent: load("last"), queue: JSON.parse(load("queue") || "[]"),
    msgs: [], open: false, unread: 0, ws: null, retry: 0, user: null, attrs: null,
    listeners: {}, typingSent: 0, typingTimer: null, agentTyping: null, seenUpTo: 0,
    sessionError: null, files: [], flushing: false
  };

  function load(k) { try { return localStorage.getItem(STORE + k); } catch (e) { return null; } }
  function save(k, v) {
    try { if (v == null) localStorage.removeItem(STORE + k); else localStorage.setItem(STORE + k, v); }
    catch (e) { /* storage blocked: the chat still works for this page view */ }
  }
  function emit(name, data) {
    (S.listeners[name] || []).forEach(function (fn) { try { fn(data); } catch (e) { console.error(e); } });
  }
  function uid() {
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /* ---------- HTTP ---------- */
  function call(method, path, body) {
    var headers = {};
    if (S.token) headers.authorization = "Bearer " + S.token;
    if (body !== undefined) headers["content-type"] = "application/json";
    return fetch(API + path, { method: method, headers: headers, mode: "cors",
      body: body === undefined ? undefined : JSON.stringify(body) }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error((data.error && data.error.message) || "HTTP " + r.status);
          err.status = r.status; err.details = data.error && data.error.details; throw err;
        }
        return data;
      });
    });
  }

  /* ---------- Session ---------- */
  function startSession(form) {
    var body = { form: form || {} };
    if (S.user) body.user = S.user;
    return call("POST", "sessions", body).then(function (data) {
      S.token = data.token; save("token", S.token); S.sessionError = null; S.fieldErrors = {};
      S.lastEvent = null; save("last", null); S.msgs = [];
      if (S.attrs) setAttributes(S.attrs);
      return afterSession();
    }, function (err) {
      // pre-chat answers are checked per field: each message goes under its own input
      S.fieldErrors = {};
      if (Array.isArray(err.details)) err.details.forEach(function (d) { S.fieldErrors[d.field] = fieldMessage(d.message); });
      S.sessionError = Object.keys(S.fieldErrors).length ? null
        : (!err.status || err.status >= 500 || /^HTTP \d+$/.test(err.message) ? T("failed") : err.message);
      render(); throw err;
    });
  }
  function afterSession() {
    return loadHistory().then(function () {
      S.queue.forEach(function (q) {  // restored from storage after a reload: still unsent
        upsert({ local: true, client_id: q.client_id, text: q.text, sender_type: "contact", status: "sending" });
      });
      connect(); flush(); render();
    });
  }
  function loadHistory() {
    return call("GET", "messages?limit=100").then(function (data) {
      S.msgs = S.msgs.filter(function (m) { return m.local; });
      data.items.forEach(upsert); render();
    });
  }
  function ensureSession(form) {
    if (S.token) return Promise.resolve();
    return startSession(form);
  }

  /* ---------- Messages ---------- */
  function upsert(m) {
    for (var i = 0; i < S.msgs.length; i++) {
      var o = S.msgs[i];
      if (o.id === m.id || (m.client_id && o.client_id === m.client_id)) { S.msgs[i] = m; return false; }
    }
    S.msgs.push(m);
    S.msgs.sort(function (a, b) {
      if (a.local !== b.local) return a.local ? 1 : -1;
      return (a.sent_at || "").localeCompare(b.sent_at || "") || (a.id || 0) - (b.id || 0);
    });
    return true;
  }
  function send(text, files) {
    var cid = uid();
    var item = { client_id: cid, text: text, attachments: files || [] };
    upsert({ local: true, client_id: cid, text: text, sender_type: "contact", status: "sending",
      attachments: (files || []).map(function (f) { return { filename: f.filename }; }) });
    S.queue.push(item); persistQueue(); render();
    ensureSession().then(flush, function () { /* shown in the panel */ });
  }
  function persistQueue() {
    // attachments stay in memory only: localStorage is too small for files
    save("queue", JSON.stringify(S.queue.map(function (q) {
      return { client_id: q.client_id, text: q.text, attachments: [] };
    })));
  }
  function flush() {
    if (S.flushing || !S.token || !S.queue.length) return;
    S.flushing = true;
    var item = S.queue[0];
    call("POST", "messages", { client_id: item.client_id, text: item.text,
      attachments: item.attachments }).then(function (data) {
      S.queue.shift(); persistQueue(); upsert(data.message); render();
      S.flushing = false; flush();
    }, function (err) {
      S.flushing = false;
      if (err.status && err.status < 500 && err.status !== 429 && err.status !== 401) {
        S.queue.shift(); persistQueue(); markFailed(item.client_id, err.message); flush();
      } else if (err.status === 401) {
        // the session expired or was revoked: start a new one and send again, once; a
        // message is never left "Sending…" with nothing left to send it
        dropSession();
        if (item.renewed) {
          S.queue.shift(); persistQueue(); markFailed(item.client_id, err.message); flush();
          return;
        }
        item.renewed = true;
        ensureSession().then(flush, function () {
          S.queue.forEach(function (q) { markFailed(q.client_id, T("failed")); });
        });
      } else {
        setTimeout(flush, err.status === 429 ? 10000 : 3000); // offline or busy: keep it, retry
      }
    });
  }
  function markFailed(cid, reason) {
    S.msgs.forEach(function (m) { if (m.client_id === cid) { m.status = "failed"; m.error = reason; } });
    render();
  }
  function dropSession() {
    S.token = null; save("token", null); save("user", null); if (S.ws) S.ws.close();
  }

  /* ---------- Socket ---------- */
  function connect() {
    if (!S.token || (S.ws && S.ws.readyState < 2)) return;
    var ws = new WebSocket(WS_URL); S.ws = ws;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", token: S.token, last_event_id: S.lastEvent }));
    };
    ws.onmessage = function (e) { onFrame(JSON.parse(e.data)); };
    ws.onclose = function () {
      if (S.ws !== ws) return;
      S.ws = null;
      if (!S.token) return;
      var delay = Math.min(30000, 1000 * Math.pow(2, S.retry++)); // 1 s, 2 s … 30 s
      setTimeout(connect, navigator.onLine === false ? 30000 : delay);
    };
  }
  function onFrame(f) {
    if (f.type === "ready") { S.retry = 0; setLast(f.last_event_id); flush(); markSeen(); }
    else if (f.type === "resync_required") { loadHistory(); }
    else if (f.type === "event") {
      setLast(f.id);
      var isNew = upsert(f.message);
      if (isNew && f.message.sender_type !== "contact" && f.event === "message.created") {
        S.agentTyping = null;
        if (!S.open) S.unread++;
        emit("message", f.message);
      }
      render(); markSeen();
    } else if (f.type === "typing") {
      S.agentTyping = f.typing ? (f.name || T("agent")) : null; render();
      clearTimeout(S.typingTimer);
      if (f.typing) S.typingTimer = setTimeout(function () { S.agentTyping = null; render(); }, 8000);
    }
  }
  function setLast(id) { if (id) { S.lastEvent = id; save("last", id); } }
  function markSeen() {
    if (!S.open || document.hidden) return;
    var top = 0;
    S.msgs.forEach(function (m) { if (m.sender_type !== "contact" && m.id > top) top = m.id; });
    if (top <= S.seenUpTo) return;
    S.seenUpTo = top;
    if (S.ws && S.ws.readyState === 1) S.ws.send(JSON.stringify({ type: "seen", message_id: top }));
    else call("POST", "seen", { message_id: top }).catch(function () { S.seenUpTo = 0; });
  }
  function typing() {
    var now = Date.now();
    if (now - S.typingSent < 3000 || !S.ws || S.ws.readyState !== 1) return;
    S.typingSent = now; S.ws.send(JSON.stringify({ type: "typing", typing: true }));
  }

  /* ---------- Texts ---------- */
  // The widget's own catalogue (docs/languages.md): English, Polish and Greek. The language is
  // the inbox's setting (appearance.language) if it has one, else the visitor's browser
  // (navigator.languages), else English. Counted texts use the language's plural rules.
  var TEXTS = {
    en: {
      open: "Open chat", chat: "Chat", close: "Close chat", online: "Online", offline: "Offline",
      back: "Back {when}", today: "today at {time}", dayAt: "{day} at {time}",
      typing: "{name} is typing\u2026", agent: "Agent", sending: "Sending\u2026", notSent: "Not sent: {error}",
      seen: "Seen", sent: "Sent", file: "file", placeholder: "Write a message\u2026", message: "Message",
      attach: "Attach a file", send: "Send", typeNotAllowed: "This file type is not allowed.",
      tooLarge: "This file is too large.", signIn: "Please sign in to chat with us.", start: "Start chat",
      required: "Please fill this in.", checked: "Please tick this box.",
      email: "Please enter an email address, like name@example.com.", phone: "Please enter a phone number.",
      check: "Please check this answer.", failed: "That did not work. Please try again.",
      unread: { one: "Open chat ({count} new message)", other: "Open chat ({count} new messages)" },
      files: { one: "{count} file attached", other: "{count} files attached" },
      "default.title": "Chat with us", "default.greeting": "Hi! How can we help?",
      "default.reply_time": "We usually reply in a few minutes",
      "default.offlineEmail": "We'll reply here, or by email if you leave your address",
      "default.offline": "Leave a message and we'll reply here when we're back"
    },
    pl: {
      open: "Otwórz czat", chat: "Czat", close: "Zamknij czat", online: "Dostępni", offline: "Niedostępni",
      back: "Wracamy: {when}", today: "dziś o {time}", dayAt: "{day}, {time}",
      typing: "{name} pisze\u2026", agent: "Konsultant", sending: "Wysyłanie\u2026", notSent: "Nie wysłano: {error}",
      seen: "Przeczytane", sent: "Wysłane", file: "plik", placeholder: "Napisz wiadomość\u2026", message: "Wiadomość",
      attach: "Dołącz plik", send: "Wyślij", typeNotAllowed: "Ten typ pliku jest niedozwolony.",
      tooLarge: "Ten plik jest za duży.", signIn: "Zaloguj się, aby z nami porozmawiać.", start: "Rozpocznij czat",
      required: "Wypełnij to pole.", checked: "Zaznacz to pole.",
      email: "Podaj adres e-mail, np. imie@example.com.", phone: "Podaj numer telefonu.",
      check: "Sprawdź tę odpowiedź.", failed: "Nie udało się. Spróbuj ponownie.",
      unread: { one: "Otwórz czat ({count} nowa wiadomość)", few: "Otwórz czat ({count} nowe wiadomości)",
        many: "Otwórz czat ({count} nowych wiadomości)", other: "Otwórz czat ({count} nowej wiadomości)" },
      files: { one: "{count} plik dołączony", few: "{count} pliki dołączone", many: "{count} plików dołączonych",
        other: "{count} pliku dołączonego" },
      "default.title": "Napisz do nas", "default.greeting": "Dzień dobry! W czym możemy pomóc?",
      "default.reply_time": "Zwykle odpowiadamy w ciągu kilku minut",
      "default.offlineEmail": "Odpowiemy tutaj albo e-mailem, jeśli zostawisz adres",
      "default.offline": "Zostaw wiadomość — odpowiemy tutaj, gdy wrócimy"
    },
    el: {
      open: "Άνοιγμα συνομιλίας", chat: "Συνομιλία", close: "Κλείσιμο συνομιλίας", online: "Διαθέσιμοι",
      offline: "Μη διαθέσιμοι", back: "Επιστρέφουμε: {when}", today: "σήμερα στις {time}", dayAt: "{day} στις {time}",
      typing: "{name} πληκτρολογεί\u2026", agent: "Εκπρόσωπος", sending: "Αποστολή\u2026", notSent: "Δεν στάλθηκε: {error}",
      seen: "Διαβάστηκε", sent: "Στάλθηκε", file: "αρχείο", placeholder: "Γράψτε ένα μήνυμα\u2026", message: "Μήνυμα",
      attach: "Επισύναψη αρχείου", send: "Αποστολή", typeNotAllowed: "Αυτός ο τύπος αρχείου δεν επιτρέπεται.",
      tooLarge: "Αυτό το αρχείο είναι πολύ μεγάλο.", signIn: "Συνδεθείτε για να συνομιλήσετε μαζί μας.",
      start: "Έναρξη συνομιλίας", required: "Συμπληρώστε αυτό το πεδίο.", checked: "Επιλέξτε αυτό το πλαίσιο.",
      email: "Εισαγάγετε μια διεύθυνση email, π.χ. name@example.com.", phone: "Εισαγάγετε έναν αριθμό τηλεφώνου.",
      check: "Ελέγξτε αυτή την απάντηση.", failed: "Δεν έγινε. Δοκιμάστε ξανά.",
      unread: { one: "Άνοιγμα συνομιλίας ({count} νέο μήνυμα)", other: "Άνοιγμα συνομιλίας ({count} νέα μηνύματα)" },
      files: { one: "{count} συνημμένο αρχείο", other: "{count} συνημμένα αρχεία" },
      "default.title": "Συνομιλήστε μαζί μας", "default.greeting": "Γεια σας! Πώς μπορούμε να βοηθήσουμε;",
      "default.reply_time": "Συνήθως απαντάμε σε λίγα λεπτά",
      "default.offlineEmail": "Θα απαντήσουμε εδώ ή με email, αν αφήσετε τη διεύθυνσή σας",
      "default.offline": "Αφήστε ένα μήνυμα και θα απαντήσουμε εδώ μόλις επιστρέψουμε"
    }
  };
  var LANG = "en";
  function chooseLanguage(setting) {
    if (setting && TEXTS[setting]) return setting;
    var tags = navigator.languages || [navigator.language || "en"];
    for (var i = 0; i < tags.length; i++) {
      var code = String(tags[i]).slice(0, 2).toLowerCase();
      if (TEXTS[code]) return code;
    }
    return "en";
  }
  function fill(text, params) {
    return String(text).replace(/\{(\w+)\}/g, function (all, k) { return params && k in params ? String(params[k]) : all; });
  }
  function T(key, params) {
    var v = TEXTS[LANG][key]; if (v === undefined) v = TEXTS.en[key];
    return fill(typeof v === "string" ? v : v.other, params);
  }
  function TN(key, count) {
    var v = TEXTS[LANG][key] || TEXTS.en[key];
    var form = v[new Intl.PluralRules(LANG).select(count)] || v.other;
    return fill(form, { count: new Intl.NumberFormat(LANG).format(count) });
  }
  // The server's default header texts (adapters/webchat/config.py, server/widget/availability.py)
  // are English; in another language the widget says them itself. An admin's own text is kept.
  var DEFAULTS = {
    "Chat with us": "default.title", "Hi! How can we help?": "default.greeting",
    "We usually reply in a few minutes": "default.reply_time",
    "We'll reply here, or by email if you leave your address": "default.offlineEmail",
    "Leave a message and we'll reply here when we're back": "default.offline"
  };
  function own(text) { return DEFAULTS[text] ? T(DEFAULTS[text]) : text; }
  var FIELD_MESSAGES = {
    "required": "required",
    "must be checked": "checked",
    "not an email address": "email",
    "not a phone number": "phone"
  };
  function fieldMessage(m) {
    if (FIELD_MESSAGES[m]) return T(FIELD_MESSAGES[m]);
    if (!m) return T("check");
    m = String(m);
    return m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? "" : ".");
  }
  function whenBack(iso) {  // "today at 09:00", "Monday at 09:00", in the visitor's own time
    var at = new Date(iso), now = new Date();
    var time = at.toLocaleTimeString(LANG, { hour: "2-digit", minute: "2-digit" });
    if (at.toDateString() === now.toDateString()) return T("today", { time: time });
    var day = at - now < 6 * 864e5 ? at.toLocaleDateString(LANG, { weekday: "long" })
      : at.toLocaleDateString(LANG, { day: "numeric", month: "long" });
    return T("dayAt", { day: day, time: time });
  }

  /* ---------- DOM ---------- */
  function h(tag, props, kids) {
    var el = document.createElement(tag);
    for (var k in props || {}) {
      if (k === "text") el.textContent = props[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), props[k]);
      else el.setAttribute(k, props[k]);
    }
    (kids || []).forEach(function (c) { if (c) el.appendChild(c); });
    return el;
  }
  function icon(d, stroke) {  // own simple shapes: emoji fonts are missing on many systems
    var NS = "http://www.w3.org/2000/svg", svg = document.createElementNS(NS, "svg");
    var path = document.createElementNS(NS, "path");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "20"); svg.setAttribute("height", "20");
    svg.setAttribute("aria-hidden", "true");
    path.setAttribute("d", d);
    if (stroke) { path.setAttribute("fill", "none"); path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", "2"); path.setAttribute("stroke-linecap", "round"); }
    else path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }
  var CHAT = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z";
  var CLIP = "M9 13l6-6a2.5 2.5 0 0 1 3.5 3.5l-8 8a4.5 4.5 0 0 1-6.4-6.4l7.4-7.4";
  var host = h("div", { id: "switchboard-widget" });
  var root = host.attachShadow({ mode: "open" });
  var style = h("style");
  style.textContent = [
    ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,sans-serif}",
    ".l{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;display:flex;",
    "align-items:center;justify-content:center;",
    "background:var(--c);color:#fff;font-size:26px;cursor:pointer;box-shadow:0 4px 14px #0004;z-index:2147483646}",
    ".b{position:absolute;top:-4px;right:-4px;background:#d1242f;color:#fff;border-radius:10px;",
    "min-width:20px;height:20px;font-size:12px;line-height:20px;text-align:center;padding:0 5px}",
    ".p{position:fixed;right:20px;bottom:88px;width:360px;max-width:calc(100vw - 40px);height:520px;",
    "max-height:calc(100vh - 110px);background:#fff;color:#1f2328;border-radius:12px;box-shadow:0 8px 30px #0005;",
    "display:flex;flex-direction:column;overflow:hidden;z-index:2147483647}",
    ".hd{background:var(--c);color:#fff;padding:14px 16px}.hd b{display:block;font-size:16px}",
    ".st{font-size:12px;opacity:.9}.dot{display:inline-block;width:8px;height:8px;border-radius:50%;",
    "margin-right:6px;background:#9aa}.on .dot{background:#3fb950}",
    ".x{float:right;background:none;border:0;color:#fff;font-size:20px;cursor:pointer}",
    ".ms{flex:1;overflow-y:auto;padding:12px;background:#f6f8fa}",
    ".m{margin:6px 0;display:flex;flex-direction:column;align-items:flex-start}.m.me{align-items:flex-end}",
    ".bu{max-width:80%;padding:8px 12px;border-radius:14px;background:#fff;border:1px solid #d0d7de;",
    "white-space:pre-wrap;word-wrap:break-word}.me .bu{background:var(--c);color:#fff;border:0}",
    ".au{font-size:12px;color:#57606a;margin:0 4px 2px;display:flex;align-items:center;gap:6px}",
    ".av{width:22px;height:22px;border-radius:50%;background:#8c959f;color:#fff;font-size:11px;",
    "display:inline-flex;align-items:center;justify-content:center;overflow:hidden}.av img{width:100%}",
    ".meta{font-size:11px;color:#57606a;margin:2px 4px}.fail{color:#d1242f}",
    ".att{display:block;margin-top:4px;max-width:220px;border-radius:8px}",
    ".fl{background:none;border:0;color:inherit;text-decoration:underline;cursor:pointer;padding:0}",
    ".ty{font-size:12px;color:#57606a;padding:0 14px 6px;min-height:18px;background:#f6f8fa}",
    ".ft{display:flex;gap:6px;padding:10px;border-top:1px solid #d0d7de;align-items:flex-end}",
    "textarea{flex:1;resize:none;border:1px solid #d0d7de;border-radius:8px;padding:8px;height:40px}",
    ".sd,.up{border:0;background:var(--c);color:#fff;border-radius:8px;padding:0 12px;height:40px;cursor:pointer}",
    ".up{background:#eaeef2;color:#1f2328;display:flex;align-items:center}.l svg{width:28px;height:28px}",
    "svg{vertical-align:middle;flex:none}.fm{padding:16px;overflow-y:auto;flex:1}",
    ".fm label{display:block;margin:10px 0 4px;font-weight:600}.fm input,.fm select{width:100%;",
    "padding:8px;border:1px solid #d0d7de;border-radius:6px}.er{color:#d1242f;font-size:12px;margin-top:6px}",
    ".fm .sd{margin-top:14px;width:100%}.gr{color:#57606a;text-align:center;margin:8px 0 12px}",
    ":host(.left) .l{right:auto;left:20px}:host(.left) .p{right:auto;left:20px}.bk{display:block;font-size:12px;opacity:.9}",
    ".fm [aria-invalid=true]{border-color:#d1242f}"
  ].join("");
  root.appendChild(style);
  var badge = h("span", { class: "b", hidden: "" });
  var launcher = h("button", { class: "l", "aria-label": T("open"), part: "launcher",
    onclick: function () { S.open ? api.close() : api.open(); } }, [icon(CHAT), badge]);
  var panel = h("div", { class: "p", hidden: "", role: "dialog", "aria-label": T("chat") });
  root.appendChild(panel); root.appendChild(launcher);

  function render() {
    badge.textContent = String(S.unread);
    badge.hidden = !S.unread;
    launcher.setAttribute("aria-label", S.unread ? TN("unread", S.unread) : T("open"));
    panel.setAttribute("aria-label", T("chat"));
    panel.hidden = !S.open;
    if (!S.open || !S.cfg) return;
    var ap = S.cfg.appearance || {}, av = S.cfg.availability || {};
    var keep = panel.querySelector("textarea"), draft = keep ? keep.value : "";
    var hadFocus = keep && root.activeElement === keep;
    panel.textContent = "";
    panel.appendChild(h("div", { class: "hd" + (av.online ? " on" : "") }, [
      h("button", { class: "x", "aria-label": T("close"), text: "\u00d7", onclick: function () { api.close(); } }),
      h("b", { text: own(ap.title) || T("chat") }),
      h("div", { class: "st" }, [h("span", { class: "dot" }),
        h("span", { text: T(av.online ? "online" : "offline") + " \u00b7 " + own(av.reply_time || "") })]),
      !av.online && av.next_open_at ? h("span", { class: "bk", text: T("back", { when: whenBack(av.next_open_at) }) }) : null
    ]));
    if (!S.token) { panel.appendChild(startView()); return; }
    var list = h("div", { class: "ms" }, [h("div", { class: "gr", text: own(ap.greeting || "") })]);
    S.msgs.forEach(function (m) { list.appendChild(messageView(m)); });
    panel.appendChild(list);
    panel.appendChild(h("div", { class: "ty", text: S.agentTyping ? T("typing", { name: S.agentTyping }) : "" }));
    panel.appendChild(composer(draft, hadFocus));
    list.scrollTop = list.scrollHeight;
  }
  function messageView(m) {
    var me = m.sender_type === "contact", kids = [];
    if (!me && m.author) {
      var face = h("span", { class: "av", text: (m.author.name || "?").charAt(0).toUpperCase() });
      if (m.author.avatar_url && /^https?:\/\//.test(m.author.avatar_url)) {
        face.textContent = ""; face.appendChild(h("img", { src: m.author.avatar_url, alt: "" }));
      }
      kids.push(h("div", { class: "au" }, [face, h("span", { text: m.author.name || "" })]));
    }
    var bubble = h("div", { class: "bu" });
    if (m.text) bubble.appendChild(h("span", { text: m.text }));
    (m.attachments || []).forEach(function (a) { bubble.appendChild(attachmentView(a)); });
    kids.push(bubble);
    if (me) {
      var label = m.status === "sending" ? T("sending") : m.status === "failed" ? T("notSent", { error: m.error || "" })
        : m.status === "read" ? T("seen") : T("sent");
      kids.push(h("div", { class: "meta" + (m.status === "failed" ? " fail" : ""), text: label }));
    }
    return h("div", { class: "m" + (me ? " me" : ""), "data-id": m.id || m.client_id }, kids);
  }
  function attachmentView(a) {
    if (!a.id) return h("div", { class: "meta" }, [icon(CLIP, true), h("span", { text: a.filename || T("file") })]);
    var isImg = /^image\//.test(a.content_type || "");
    var el = isImg ? h("img", { class: "att", alt: a.filename || "" })
      : h("button", { class: "fl att" }, [icon(CLIP, true), h("span", { text: a.filename || T("file") })]);
    blob(a.id).then(function (url) {
      if (isImg) el.src = url;
      else el.addEventListener("click", function () {
        var link = h("a", { href: url, download: a.filename || T("file") }); link.click();
      });
    });
    return el;
  }
  var blobs = {};
  function blob(id) {
    // attachments need the visitor token, which an <img src> cannot carry: fetch, then a blob URL
    if (!blobs[id]) blobs[id] = fetch(API + "attachments/" + id, {
      headers: { authorization: "Bearer " + S.token } }).then(function (r) { return r.blob(); })
      .then(function (b) { return URL.createObjectURL(b); });
    return blobs[id];
  }
  function composer(draft, focus) {
    var ta = h("textarea", { placeholder: T("placeholder"), "aria-label": T("message") });
    ta.value = draft;
    ta.addEventListener("input", typing);
    ta.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
    });
    var file = h("input", { type: "file", hidden: "" });
    file.addEventListener("change", function () { attach(file.files[0]); file.value = ""; });
    function submit() {
      var text = ta.value.trim();
      if (!text && !S.files.length) return;
      ta.value = ""; var files = S.files; S.files = []; send(text, files);
    }
    var up = h("button", { class: "up", "aria-label": S.files.length ? T("attach") + " (" + TN("files", S.files.length) + ")" : T("attach"),
      onclick: function () { file.click(); } },
      [icon(CLIP, true), S.files.length ? h("span", { text: String(S.files.length) }) : null]);
    var row = h("div", { class: "ft" }, [file, up, ta, h("button", { class: "sd", text: T("send"), onclick: submit })]);
    if (focus) setTimeout(function () { ta.focus(); }, 0);
    return row;
  }
  function attach(f) {
    var rules = S.cfg.attachments || { max_bytes: 0, types: [] };
    if (!f) return;
    if (rules.types.indexOf((f.type || "").toLowerCase()) < 0) return alert(T("typeNotAllowed"));
    if (f.size > rules.max_bytes) return alert(T("tooLarge"));
    var reader = new FileReader();
    reader.onload = function () {
      S.files.push({ filename: f.name, content_type: f.type.toLowerCase(),
        data_base64: String(reader.result).split(",")[1] || "" });
      render();
    };
    reader.readAsDataURL(f);
  }
  function startView() {
    var pre = S.cfg.pre_chat || {}, box = h("form", { class: "fm", novalidate: "" }), inputs = {};
    box.appendChild(h("div", { class: "gr", text: (S.cfg.appearance || {}).greeting || "" }));
    if (S.cfg.identity_verification === "required" && !S.user) {
      box.appendChild(h("p", { text: T("signIn") }));
      return box;
    }
    if (pre.enabled && !S.user) {
      (pre.fields || []).forEach(function (f) {
        var input;
        if (f.type === "select") {
          input = h("select", { name: f.name }, [h("option", { value: "", text: "\u2014" })]
            .concat(f.options.map(function (o) { return h("option", { value: o, text: o }); })));
        } else if (f.type === "checkbox") input = h("input", { type: "checkbox", name: f.name });
        else input = h("input", { type: f.type === "textarea" ? "text" : f.type, name: f.name, maxlength: f.max_length });
        inputs[f.name] = input;
        var id = "sb-f-" + f.name, err = (S.fieldErrors || {})[f.name];
        input.id = id;
        box.appendChild(h("label", { for: id, text: f.label + (f.required ? " *" : "") }));
        box.appendChild(input);
        if (err) {
          input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", id + "-e");
          box.appendChild(h("div", { class: "er", id: id + "-e", text: err }));
        }
      });
    }
    if (S.sessionError) box.appendChild(h("div", { class: "er", text: S.sessionError }));
    box.appendChild(h("button", { class: "sd", type: "submit", text: T("start") }));
    box.addEventListener("submit", function (e) {
      e.preventDefault();
      var form = {};
      for (var k in inputs) form[k] = inputs[k].type === "checkbox" ? inputs[k].checked : inputs[k].value;
      startSession(form).catch(function () { /* the error is rendered */ });
    });
    return box;
  }

  /* ---------- Public API ---------- */
  function setAttributes(attrs) {
    S.attrs = Object.assign(S.attrs || {}, attrs);
    if (S.token) call("POST", "attributes", { attributes: S.attrs }).catch(function () {});
  }
  var api = {
    loaded: true,
    open: function () {
      if (S.open) return; S.open = true; S.unread = 0; render(); markSeen(); emit("opened");
      var pre = S.cfg && S.cfg.pre_chat;
      var mustAsk = (pre && pre.enabled && !S.user) ||
        (S.cfg && S.cfg.identity_verification === "required" && !S.user);
      if (!S.token && S.cfg && !mustAsk) startSession({}).catch(function () {});
    },
    close: function () { if (!S.open) return; S.open = false; render(); emit("closed"); },
    setUser: function (u) {
      S.user = u.jwt
        ? { jwt: String(u.jwt), name: u.name || null, email: u.email || null }
        : { id: String(u.id), signature: String(u.hash || u.signature || ""),
          timestamp: Number(u.timestamp), name: u.name || null, email: u.email || null };
      var userId = u.jwt ? jwtSub(String(u.jwt)) : S.user.id;
      // every page of a logged-in site calls setUser: keep the session already verified for them
      if (S.token && userId && load("user") === userId) return Promise.resolve();
      dropSession(); S.msgs = [];
      save("user", userId);
      return startSession({}).catch(function () {});
    },
    setAttributes: setAttributes,
    on: function (name, fn) { (S.listeners[name] = S.listeners[name] || []).push(fn); }
  };
  window.Switchboard = api;

  // The user id inside a JWT (only to recognise the same user on the next page; the
  // server verifies the signature).
  function jwtSub(token) {
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return String(JSON.parse(atob(part)).sub || "");
    } catch (e) { return ""; }
  }

  function boot() {
    document.body.appendChild(host);
    call("GET", "config").then(function (cfg) {
      S.cfg = cfg;
      LANG = chooseLanguage(cfg.appearance && cfg.appearance.language);
      host.setAttribute("lang", LANG);
      host.style.setProperty("--c", (cfg.appearance && cfg.appearance.color) || "#1f6feb");
      if (cfg.appearance && cfg.appearance.position === "left") host.classList.add("left");
      (pending || []).forEach(function (c) { api[c[0]].apply(api, c[1] || []); });
      var ready = S.token ? call("GET", "session").then(afterSession, function (err) {
        if (err.status === 401) { dropSession(); S.queue = []; persistQueue(); }
      }) : Promise.resolve();
      return ready.then(function () { render(); emit("ready"); });
    }).catch(function (err) { console.warn("Switchboard widget:", err.message); });
    window.addEventListener("online", function () { S.retry = 0; connect(); flush(); });
    document.addEventListener("visibilitychange", markSeen);
  }
  if (document.body) boot(); else document.addEventListener("DOMContentLoaded", boot);
})();
