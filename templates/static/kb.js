// kb.js - makes the pages faster to use; with `kb serve` every page works without it.
//  - the search box in the header shows results as you type (GET /api/search,
//    debounced), `/` or Ctrl-K focuses it, arrow keys and Enter pick a result;
//  - the paste box (/match) matches as soon as a stack is pasted and swaps the
//    answer in place (the same page the form gets from POST /match);
//  - Ctrl-Enter (or Cmd-Enter) submits a textarea's form.
// A snapshot of the site on a static host has no server to answer: kb.js finds that out
// once (GET api/generation is not kb serve's JSON) and then asks kb-worker.js instead,
// which runs the same search and matcher in the browser (kb.wasm on sqlite-wasm), and
// _kb/js/pages.js renders the search page and the paste box's answer from its JSON.
// No framework, no inline script (the server's CSP forbids it). Text from the
// server is put in the page as text; the only markup taken from it is <mark> in
// search snippets, copied element by element from an inert <template>.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? script.src.replace(/kb\.js(\?.*)?$/, "") : "/";
  var DEBOUNCE_MS = 120, LIMIT = 8;

  function byId(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function timing(name, start) {
    try { performance.measure(name, { start: start, end: performance.now() }); } catch (e) { /* old browsers */ }
  }

  // ---- marking the query's terms in titles (as the server does on /search) ----
  function terms(q) {
    return (q.match(/[0-9A-Za-z_\u0080-\uffff]+/g) || []).slice(0, 32).map(function (t) { return t.toLowerCase(); });
  }
  function isWord(ch) { return /[0-9A-Za-z_\u0080-\uffff]/.test(ch); }
  function appendMarked(parent, text, ts) {
    var low = text.toLowerCase(), i = 0, plain = 0;
    if (low.length !== text.length) { parent.appendChild(document.createTextNode(text)); return; }
    while (i < text.length) {
      var best = 0, start = i === 0 || !isWord(text.charAt(i - 1));
      for (var k = 0; k < ts.length; k++) {
        var t = ts[k];
        if ((start || t.length >= 3) && t.length > best && low.substr(i, t.length) === t) best = t.length;
      }
      if (!best) { i++; continue; }
      if (i > plain) parent.appendChild(document.createTextNode(text.slice(plain, i)));
      parent.appendChild(el("mark", null, text.substr(i, best)));
      i += best;
      plain = i;
    }
    if (plain < text.length) parent.appendChild(document.createTextNode(text.slice(plain)));
  }
  // A snippet is escaped text with hits in <mark>: keep the text and the marks only.
  function appendSnippet(parent, html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var nodes = tpl.content.childNodes;
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      if (n.nodeType === 3) parent.appendChild(document.createTextNode(n.nodeValue.replace(/\s+/g, " ")));
      else if (n.nodeType === 1 && n.nodeName === "MARK") parent.appendChild(el("mark", null, n.textContent));
      else if (n.nodeType === 1) parent.appendChild(document.createTextNode(n.textContent));
    }
  }

  // ---- who answers: kb serve's /api, or (a snapshot on a static host) kb-worker.js ----
  var backendP = null;
  function backend() {
    if (backendP) return backendP;
    var key = "kb-backend " + base, known = null;
    try { known = sessionStorage.getItem(key); } catch (e) { /* storage off */ }
    if (known === "server" || known === "snapshot") return (backendP = Promise.resolve(known));
    backendP = fetch(base + "api/generation", { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) {
        // kb serve answers JSON, even when busy; a static host a 404/405 or an HTML page
        return /^application\/json/.test(r.headers.get("Content-Type") || "") ? "server" : "snapshot";
      })
      .then(function (kind) {
        try { sessionStorage.setItem(key, kind); } catch (e) { /* storage off */ }
        return kind;
      }, function () { backendP = null; return "server"; }); // offline: ask again next time
    return backendP;
  }
  function snapshotPossible() { return !!(window.Worker && window.WebAssembly && window.Promise); }
  // In a snapshot, start the worker when a box is focused: it loads while the user types.
  var warmed = false;
  function warmUp() {
    if (warmed) return;
    warmed = true;
    backend().then(function (kind) {
      if (kind === "snapshot" && snapshotPossible()) ask({ type: "warm" }).catch(function () { /* reported on use */ });
    });
  }

  // The worker, started on first use; ask() resolves with the parsed JSON body it answers.
  var worker = null, waiting = Object.create(null), askSeq = 0;
  function workerFailed(why) {
    var w = waiting;
    waiting = Object.create(null);
    if (worker) worker.terminate();
    worker = null;
    for (var id in w) w[id].reject(new Error(why));
  }
  function ask(msg) {
    return new Promise(function (resolve, reject) {
      if (!worker) {
        worker = new Worker(base + "kb-worker.js", { type: "module" });
        worker.onmessage = function (e) {
          var a = e.data || {}, w = waiting[a.id];
          if (!w) return;
          delete waiting[a.id];
          var body = null;
          try { body = a.body ? JSON.parse(a.body) : null; } catch (err) { a.error = a.error || "unreadable answer"; }
          if (!a.error && body && body.error) a.error = String(body.error);
          // what each answer cost, for whoever measures (tests, benchmarks)
          document.dispatchEvent(new CustomEvent("kb:snapshot-answer", { detail: {
            type: w.type, ms: a.ms, query_ms: a.query_ms, transfer: a.transfer, total: a.total, error: a.error || null } }));
          if (a.error) w.reject(new Error(a.error));
          else w.resolve(body);
        };
        worker.onerror = function (e) { e.preventDefault(); workerFailed(e.message || "the search worker failed to start"); };
      }
      msg.id = ++askSeq;
      waiting[msg.id] = { resolve: resolve, reject: reject, type: msg.type };
      worker.postMessage(msg);
    });
  }

  // The snapshot's page renderer (_kb/js/pages.js), loaded on first use.
  var pagesP = null;
  function snapshotPages() {
    if (pagesP) return pagesP;
    // links as the server writes them: the base's path ("/kb/"), not its origin
    window.kbPage = { base: base.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, ""), el: el, appendMarked: appendMarked,
                      appendSnippet: appendSnippet, terms: terms, ask: ask };
    pagesP = new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = base + "_kb/js/pages.js";
      s.onload = function () { resolve(window.kbSnapshotPages); };
      s.onerror = function () { pagesP = null; reject(new Error("_kb/js/pages.js did not load")); };
      document.head.appendChild(s);
    });
    return pagesP;
  }
  function failNote(parent, e) {
    parent.textContent = "";
    var box = el("div", "kb-none");
    box.setAttribute("role", "status");
    box.appendChild(el("p", null, "Search in this copy of the site failed: " + (e && e.message ? e.message : "unknown error") +
                                 ". The pages still work; searching needs a browser with WebAssembly, or kb serve."));
    parent.appendChild(box);
  }

  // ---- the header's search box ----
  function setupSuggest() {
    var input = byId("kb-q"), box = byId("kb-suggest"), list = byId("kb-suggest-list");
    var foot = byId("kb-suggest-foot"), status = byId("kb-suggest-status");
    if (!input || !box || !list || !window.fetch) return;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", "kb-suggest-list");
    input.setAttribute("aria-expanded", "false");
    var timer = 0, seq = 0, active = -1, items = [], cache = Object.create(null), ctl = null, lastQ = "";

    function open() { box.hidden = false; input.setAttribute("aria-expanded", "true"); }
    function close() {
      box.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function searchUrl(q) { return base + "search?q=" + encodeURIComponent(q); }
    function go(url) { close(); window.location.assign(url); }
    function setActive(i) {
      var opts = list.children;
      if (active >= 0 && opts[active]) { opts[active].setAttribute("aria-selected", "false"); opts[active].classList.remove("on"); }
      active = i;
      if (i < 0 || !opts[i]) { input.removeAttribute("aria-activedescendant"); return; }
      opts[i].setAttribute("aria-selected", "true");
      opts[i].classList.add("on");
      input.setAttribute("aria-activedescendant", opts[i].id);
      if (opts[i].scrollIntoView) opts[i].scrollIntoView({ block: "nearest" });
    }

    function render(q, d, t0) {
      var ts = terms(q);
      list.textContent = "";
      items = d.results || [];
      active = -1;
      input.removeAttribute("aria-activedescendant");
      items.forEach(function (r, i) {
        var li = el("li", "kb-opt");
        li.id = "kb-opt-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        var title = el("span", "kb-opt-title");
        appendMarked(title, String(r.title || r.id || ""), ts);
        li.appendChild(title);
        if (r.snippet) {
          var sn = el("span", "kb-opt-snippet");
          appendSnippet(sn, String(r.snippet));
          li.appendChild(sn);
        }
        li.addEventListener("mousedown", function (e) { e.preventDefault(); });
        li.addEventListener("click", function () { go(r.url); });
        list.appendChild(li);
      });
      var total = d.total || 0;
      foot.textContent = "";
      if (total === 0) {
        foot.appendChild(document.createTextNode("No incident matches every word. "));
        var m = el("a", null, "Paste a stack instead");
        m.href = base + "match";
        foot.appendChild(m);
      } else {
        var a = el("a", null, total === 1 ? "1 result" : "See all " + total + " results");
        a.href = searchUrl(q);
        a.addEventListener("mousedown", function (e) { e.preventDefault(); });
        foot.appendChild(a);
        foot.appendChild(el("span", "kb-keys", " · ↑↓ to pick, Enter to open"));
      }
      status.textContent = total === 0 ? "No results" : total === 1 ? "1 result" : total + " results";
      box.setAttribute("data-total", String(total));
      box.setAttribute("data-q", q);
      open();
      timing("kb-search", t0);
      if (!performance.getEntriesByName("kb-first-result").length) performance.mark("kb-first-result");
    }

    // kb serve's /api/search; in a snapshot the worker, one query at a time (the newest
    // typed waits, the ones typed meanwhile are dropped)
    var busy = false, next = null;
    function fromServer(q) {
      if (ctl) ctl.abort();
      ctl = window.AbortController ? new AbortController() : null;
      return fetch(base + "api/search?limit=" + LIMIT + "&q=" + encodeURIComponent(q),
                   { signal: ctl ? ctl.signal : undefined, headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); });
    }
    function fromWorker(q, my, t0) {
      if (busy) { next = [q, my, t0]; return; }
      busy = true;
      ask({ type: "search", q: q, limit: LIMIT })
        .then(function (d) { cache[q] = d; if (my === seq) render(q, d, t0); },
              function () { if (my === seq) { close(); status.textContent = "Search is not available; press Enter to search."; } })
        .then(function () {
          busy = false;
          var n = next;
          next = null;
          if (n && n[1] === seq) fromWorker(n[0], n[1], n[2]);
        });
    }
    function run(q, t0) {
      var my = ++seq;
      lastQ = q;
      if (cache[q]) { render(q, cache[q], t0); return; }
      backend().then(function (kind) {
        if (my !== seq) return;
        if (kind === "snapshot" && snapshotPossible()) { fromWorker(q, my, t0); return; }
        fromServer(q)
          .then(function (d) { cache[q] = d; if (my === seq) render(q, d, t0); })
          .catch(function (e) {
            if (e && e.name === "AbortError") return;
            if (my === seq) { close(); status.textContent = "Search is not available; press Enter to search."; }
          });
      });
    }

    input.addEventListener("input", function () {
      var t0 = performance.now();
      if (!performance.getEntriesByName("kb-first-key").length) performance.mark("kb-first-key");
      clearTimeout(timer);
      var q = input.value.trim();
      if (!q) { seq++; close(); status.textContent = ""; return; }
      timer = setTimeout(function () { run(q, t0); }, DEBOUNCE_MS);
    });
    input.addEventListener("keydown", function (e) {
      var n = list.children.length;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (box.hidden) {
          var q = input.value.trim();
          if (q) { clearTimeout(timer); run(q, performance.now()); }
          e.preventDefault();
          return;
        }
        if (!n) return;
        e.preventDefault();
        if (e.key === "ArrowDown") setActive(active + 1 >= n ? 0 : active + 1);
        else setActive(active <= 0 ? n - 1 : active - 1);
      } else if (e.key === "Enter") {
        if (!box.hidden && active >= 0 && items[active]) { e.preventDefault(); go(items[active].url); }
      } else if (e.key === "Escape") {
        if (!box.hidden) { e.preventDefault(); close(); }
        else if (input.value) { e.preventDefault(); input.value = ""; }
      } else if (e.key === "Home" || e.key === "End") {
        if (!box.hidden && active >= 0 && n) { e.preventDefault(); setActive(e.key === "Home" ? 0 : n - 1); }
      } else if (e.key === "Tab") {
        close();
      }
    });
    input.addEventListener("focus", function () {
      warmUp();
      var q = input.value.trim();
      if (q && q === lastQ && cache[q]) render(q, cache[q], performance.now());
    });
    input.addEventListener("blur", function () { setTimeout(function () { if (document.activeElement !== input) close(); }, 150); });
    document.addEventListener("click", function (e) { if (!box.contains(e.target) && e.target !== input) close(); });

    document.addEventListener("keydown", function (e) {
      var t = e.target, typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.nodeName));
      var ctrlK = (e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "k" || e.key === "K");
      if (ctrlK || (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey)) {
        e.preventDefault();
        input.focus();
        input.select();
      }
    });
  }

  // ---- the paste box: match on paste, answer swapped in place ----
  function setupPaste() {
    var form = byId("kb-paste"), area = byId("stack"), out = byId("kb-match-out"), note = byId("kb-paste-note");
    if (!form || !area || !out || !window.fetch || !window.DOMParser) return;
    var busy = false;
    function fromServer() {
      var body = new URLSearchParams();
      body.set("stack", area.value);
      return fetch(form.action, { method: "POST", body: body, headers: { Accept: "text/html" } })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("kb-match-out");
          if (!fresh) throw new Error("no answer in the page");
          out.textContent = "";
          while (fresh.firstChild) out.appendChild(document.adoptNode(fresh.firstChild));
        })
        .catch(function () { form.submit(); });
    }
    function fromWorker() {
      return snapshotPages()
        .then(function (pages) { return pages.match(out, area.value); })
        .catch(function (e) { failNote(out, e); });
    }
    function submit() {
      if (busy || !area.value.trim()) return;
      busy = true;
      var t0 = performance.now(), noteText = note ? note.textContent : "";
      if (note) note.textContent = "Matching…";
      form.setAttribute("aria-busy", "true");
      backend()
        .then(function (kind) { return kind === "snapshot" && snapshotPossible() ? fromWorker() : fromServer(); })
        .then(function () {
          timing("kb-match", t0);
          markScrollables();
          var h = byId("results-heading");
          if (h) { h.setAttribute("tabindex", "-1"); }
          if (note) note.textContent = noteText;
        })
        .then(function () { busy = false; form.removeAttribute("aria-busy"); });
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
    area.addEventListener("paste", function () { setTimeout(submit, 0); });
    area.addEventListener("focus", warmUp);
    // a stack typed in a snapshot's search box, handed over by the search page
    var handed = null;
    try {
      handed = sessionStorage.getItem("kb-stack-from-search");
      sessionStorage.removeItem("kb-stack-from-search");
    } catch (e) { /* storage off */ }
    if (handed && !area.value) {
      area.value = handed;
      var lead = el("p", "lead", "Your search looked like a crash stack, so it was matched against the incidents' stacks.");
      form.parentNode.insertBefore(lead, form);
      submit();
    }
  }

  // ---- a snapshot's search page: the results kb serve would have rendered ----
  function setupSearchPage() {
    var form = document.querySelector("form.kb-search"), area = byId("q"), out = byId("kb-search-out");
    if (!form || !area || !out || out.children.length || !snapshotPossible()) return; // kb serve rendered it
    var params = new URLSearchParams(window.location.search), q = params.get("q");
    if (!q || !q.trim()) return;
    area.value = q;
    document.title = q + " · " + document.title;
    ["tag", "category"].forEach(function (k) { // a new search keeps the filter, as on kb serve
      if (!params.get(k)) return;
      var h = document.createElement("input");
      h.type = "hidden";
      h.name = k;
      h.value = params.get(k);
      form.insertBefore(h, form.querySelector(".kb-hint"));
    });
    var t0 = performance.now();
    out.setAttribute("aria-busy", "true");
    backend()
      .then(function (kind) {
        // the snapshot's page reached on kb serve (search/?q=): the server renders it
        if (kind === "server") { window.location.replace(base + "search" + window.location.search); return null; }
        return snapshotPages();
      })
      .then(function (pages) {
        if (!pages) return;
        return pages.search(out, { q: q, tag: params.get("tag"), category: params.get("category"),
                                   offset: Math.max(0, Math.min(10000, parseInt(params.get("offset"), 10) || 0)) });
      })
      .then(function () { timing("kb-search-page", t0); }, function (e) { failNote(out, e); })
      .then(function () { out.removeAttribute("aria-busy"); });
  }

  // ---- boxes that scroll sideways (stacks, frame tables) take the keyboard focus ----
  function markScrollables() {
    var els = document.querySelectorAll("pre, .table-wrap");
    for (var i = 0; i < els.length; i++) {
      var e = els[i];
      if (e.scrollWidth > e.clientWidth + 1 && !e.hasAttribute("tabindex")) e.setAttribute("tabindex", "0");
    }
  }
  function setupScrollables() {
    var t = 0;
    markScrollables();
    window.addEventListener("resize", function () { clearTimeout(t); t = setTimeout(markScrollables, 200); });
  }

  // ---- Ctrl-Enter submits a textarea's form ----
  function setupCtrlEnter() {
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey) || !t || t.nodeName !== "TEXTAREA" || !t.form) return;
      e.preventDefault();
      if (t.form.requestSubmit) t.form.requestSubmit();
      else t.form.submit();
    });
  }

  setupSuggest();
  setupPaste();
  setupSearchPage();
  setupCtrlEnter();
  setupScrollables();
})();
