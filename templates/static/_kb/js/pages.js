// pages.js - the search results page and the paste box's answer for a snapshot of the
// site on a static host, where no `kb serve` renders them: the markup of
// templates/search.mustache and templates/match.mustache, built in the browser from the
// JSON that kb-worker.js answers (kb.wasm: the core kb serve runs). Loaded by kb.js, only
// when it finds no server behind the page; it calls kbSnapshotPages.search / .match.
// Every value reaches the page as text (textContent, setAttribute); the only markup
// taken from the data is <mark> in search snippets, copied by kb.js's appendSnippet.
(function () {
  "use strict";
  var K = window.kbPage; // from kb.js: base, el, appendMarked, appendSnippet, terms, ask
  var PAGE_SIZE = 20, FACET_SCAN = 100, MAX_OFFSET = 10000, MATCH_LIMIT = 10, ALIGN_TAIL = 2;

  function el(tag, cls, text) { return K.el(tag, cls, text == null ? "" : String(text)); }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null || c === false) continue;
      parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function link(href, text, cls) { var a = el("a", cls, text); a.href = href; return a; }
  function code(text) { return el("code", null, text); }
  function strong(text) { return el("strong", null, text); }
  function str(v) { return typeof v === "string" ? v : null; }
  function enc(s) { return encodeURIComponent(s); }

  // ---- the search page (GET search?q=&tag=&category=&offset=) ----

  function searchHref(q, f, offset) {
    var h = K.base + "search?q=" + enc(q);
    if (f && f.tag) h += "&tag=" + enc(f.tag);
    if (f && f.category) h += "&category=" + enc(f.category);
    if (offset) h += "&offset=" + offset;
    return h;
  }

  function count(facet, name) {
    if (!facet.has(name)) facet.set(name, 0);
    facet.set(name, facet.get(name) + 1);
  }

  // Most frequent first (then by name), 24 at most, with links that set or clear the filter.
  function facetList(facet, q, f, tags) {
    var v = Array.from(facet.entries()).sort(function (a, b) {
      return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    });
    return v.slice(0, 24).map(function (e) {
      var active = tags ? f.tag : f.category, on = active === e[0];
      var nf = { tag: f.tag, category: f.category };
      if (tags) nf.tag = on ? null : e[0];
      else nf.category = on ? null : e[0];
      return { name: e[0], count: e[1], href: searchHref(q, nf, 0), active: on };
    });
  }

  function facetSection(title, list) {
    if (!list.length) return null;
    var frag = document.createDocumentFragment();
    add(frag, el("h2", "kb-facet-title", title));
    var ul = add(frag, el("ul", "kb-facet-list")).lastChild;
    list.forEach(function (x) {
      var a = link(x.href, x.name + " ");
      if (x.active) { a.setAttribute("aria-current", "true"); a.className = "on"; }
      add(a, el("span", "count", x.count));
      if (x.active) add(a, el("span", "vh", " (active: follow to remove)"));
      add(ul, add(el("li"), a));
    });
    return frag;
  }

  function card(h, cats, ts, q, f) {
    var li = el("li", "card"), a = link(h.url, "");
    K.appendMarked(a, String(h.title || ""), ts);
    add(li, add(el("h2"), a));
    add(li, add(el("p", "meta"), "id ", code(h.id), " · relevance " + Number(h.score || 0).toFixed(2)));
    var sn = el("p", "kb-snippet");
    K.appendSnippet(sn, String(h.snippet || ""));
    add(li, sn);
    var items = [];
    (h.tags || []).forEach(function (t) { if (typeof t === "string") items.push({ name: t, category: false }); });
    cats.forEach(function (c) { if (typeof c === "string") items.push({ name: c, category: true }); });
    if (items.length) {
      var ul = el("ul", "tags");
      ul.setAttribute("aria-label", "Tags and categories");
      items.forEach(function (t) {
        var nf = { tag: t.category ? f.tag : t.name, category: t.category ? t.name : f.category };
        var ta = link(searchHref(q, nf, 0), t.name, t.category ? "cat" : null);
        ta.title = "Only results " + (t.category ? "in " : "tagged ") + t.name;
        add(ul, add(el("li"), ta));
      });
      add(li, ul);
    }
    return li;
  }

  // A stack in the search box is matched instead, on the paste box's page (as kb serve does).
  function looksLikeStack(d) { return d && Array.isArray(d.frames) && d.frames.length >= 2; }

  function renderSearch(out, p) {
    var q = p.q, f = { tag: p.tag || null, category: p.category || null }, offset = p.offset || 0;
    var filtering = !!(f.tag || f.category);
    return K.ask({ type: "match", text: q, limit: MATCH_LIMIT }).then(function (m) {
      if (looksLikeStack(m)) {
        try { sessionStorage.setItem("kb-stack-from-search", q); } catch (e) { /* private mode */ }
        window.location.replace(K.base + "match");
        return null;
      }
      return K.ask({ type: "search", q: q, limit: FACET_SCAN });
    }).then(function (all) {
      if (!all) return;
      var hits = all.results || [];
      var ids = hits.map(function (h) { return h.id; });
      return (ids.length ? K.ask({ type: "categories", ids: ids }) : Promise.resolve({})).then(function (catsById) {
        drawSearch(out, q, f, offset, filtering, all, hits, catsById || {});
      });
    });
  }

  function drawSearch(out, q, f, offset, filtering, all, hits, catsById) {
    var ts = K.terms(q), tagFacet = new Map(), catFacet = new Map(), kept = 0, shown = [];
    hits.forEach(function (h) {
      var tags = (h.tags || []).filter(function (t) { return typeof t === "string"; });
      var cats = (catsById[h.id] || []).filter(function (t) { return typeof t === "string"; });
      tags.forEach(function (t) { count(tagFacet, t); });
      cats.forEach(function (c) { count(catFacet, c); });
      var keep = (!f.tag || tags.indexOf(f.tag) >= 0) && (!f.category || cats.indexOf(f.category) >= 0);
      if (keep) {
        if (kept >= offset && kept < offset + PAGE_SIZE) shown.push(card(h, cats, ts, q, f));
        kept++;
      }
    });
    var total = filtering ? kept : all.total || 0;
    out.textContent = "";
    var lead = el("p", "lead kb-count");
    lead.setAttribute("role", "status");
    add(lead, strong(total), total === 1 ? " result for " : " results for ", el("q", null, all.query || q));
    if (f.tag) add(lead, " tagged ", strong(f.tag));
    if (f.category) add(lead, " in ", strong(f.category));
    if (shown.length) add(lead, ", " + (offset + 1) + "–" + (offset + shown.length) + " shown");
    add(lead, ".");
    if (filtering) add(lead, " ", link(searchHref(q, null, 0), "Clear the filter"), ".");
    add(out, lead);

    var layout = add(out, el("div", "kb-search-layout")).lastChild;
    if (q && (hits.length >= 2 || filtering)) {
      var aside = el("aside", "kb-facets");
      aside.setAttribute("aria-label", "Filters");
      add(aside, facetSection("Filter by tag", facetList(tagFacet, q, f, true)),
          facetSection("Filter by category", facetList(catFacet, q, f, false)));
      if ((all.total || 0) > hits.length) add(aside, el("p", "kb-hint", "Counts over the best " + FACET_SCAN + " results."));
      add(layout, aside);
    }
    var res = add(layout, el("div", "kb-search-results")).lastChild;
    var ol = add(res, el("ol", "cards kb-results")).lastChild;
    shown.forEach(function (li) { add(ol, li); });
    if (!shown.length) {
      add(res, add(el("p", "kb-empty"), "Nothing matched every word. Try fewer words, or the start of a long identifier (",
                   code("vmqc"), " finds ", code("vmqcGetFirstMappedMNic"), "). A crash stack goes in the ",
                   link(K.base + "match", "paste box"), "."));
    }
    var nav = add(res, el("nav", "kb-paging")).lastChild;
    nav.setAttribute("aria-label", "Result pages");
    if (offset > 0) {
      var prev = link(searchHref(q, f, offset > PAGE_SIZE ? offset - PAGE_SIZE : 0), "Previous");
      prev.rel = "prev";
      add(nav, prev);
    }
    add(nav, " ");
    // the snapshot pages through the best FACET_SCAN hits (kb.wasm's search has no offset)
    if (offset + shown.length < Math.min(total, filtering ? total : hits.length) && offset + PAGE_SIZE <= MAX_OFFSET) {
      var next = link(searchHref(q, f, offset + PAGE_SIZE), "Next");
      next.rel = "next";
      add(nav, next);
    }
  }

  // ---- the paste box's answer (POST match) ----

  // "Module!function+0x1f" as a frame is usually written; the raw line when unnamed.
  function frameLabel(fr) {
    var s = "", mod = str(fr.module), fn = str(fr.function), off = str(fr.offset), raw = str(fr.raw);
    if (mod) s += mod;
    if (fn) s += (s ? "!" : "") + fn;
    if (off && s) s += "+" + off;
    if (!s && raw) s = raw;
    return s;
  }

  function alignRow(qf, qpos, inf, ipos, matched) {
    var r = { matched: matched, has_q: !!qf, has_i: !!inf };
    if (qf) { r.q_pos = qpos; r.q_label = qf.label || ""; r.q_skipped = !!qf.skipped; r.q_signature = !!qf.signature; }
    if (inf) { r.i_pos = ipos; r.i_label = frameLabel(inf); r.i_skipped = !!inf.skipped; r.i_signature = !!inf.signature; }
    return r;
  }

  // The pasted stack and the incident's side by side: shared frames on one row, the frames
  // between them (in either stack) on rows of their own, in order (server/pages.c align_rows).
  function alignRows(qframes, iframes, pairs) {
    var rows = [], nq = qframes.length, ni = iframes.length, pq = 0, pi = 0, ordered = true;
    pairs.forEach(function (p) {
      var q = p.query, i = p.incident;
      if (q < pq || i < pi || q >= nq || i >= ni) ordered = false;
      if (ordered) { pq = q + 1; pi = i + 1; }
    });
    pq = pi = 0;
    pairs.forEach(function (p) {
      var q = p.query, i = p.incident;
      if (ordered) {
        while (pq < q || pi < i) {
          rows.push(alignRow(pq < q ? qframes[pq] : null, pq, pi < i ? iframes[pi] : null, pi, false));
          if (pq < q) pq++;
          if (pi < i) pi++;
        }
        pq = q + 1;
        pi = i + 1;
      }
      var qf = q >= 0 && q < nq ? qframes[q] : null, inf = i >= 0 && i < ni ? iframes[i] : null;
      var row = alignRow(qf, q, inf, i, true);
      if (!qf) { row.has_q = true; row.q_pos = q; row.q_label = str(p.frame) || ""; }
      rows.push(row);
    });
    for (var k = 0; ordered && pairs.length > 0 && k < ALIGN_TAIL && (pq < nq || pi < ni); k++) {
      rows.push(alignRow(pq < nq ? qframes[pq] : null, pq, pi < ni ? iframes[pi] : null, pi, false));
      if (pq < nq) pq++;
      if (pi < ni) pi++;
    }
    return rows;
  }

  // Whether the pairs refer to the query's first stack (the one shown).
  function pairsOnFirstStack(qframes, pairs) {
    return pairs.every(function (p) {
      var qf = qframes[p.query], fr = str(p.frame);
      if (!qf || fr === null) return false;
      var mod = str(qf.module), fn = str(qf.function);
      return (mod !== null ? mod : "") + (mod !== null && fn !== null ? "!" : "") + (fn !== null ? fn : "") === fr;
    });
  }

  // For an empty answer: searches for the pasted stack's top frames (not skipped).
  function topFrameSearches(qframes) {
    var names = [];
    for (var i = 0; i < qframes.length && names.length < 3; i++) {
      var fn = str(qframes[i].function);
      if (qframes[i].skipped || !fn) continue;
      var name = fn.split(/[(<[ ]/)[0];
      if (name && names.indexOf(name) < 0) names.push(name);
    }
    return names;
  }

  function cls(base, flags) {
    var c = [base];
    if (flags[0]) c.push("kb-skip");
    if (flags[1]) c.push("kb-sig");
    return c.join(" ").trim();
  }

  function alignTable(r, rows) {
    var wrap = el("div", "table-wrap"), t = add(wrap, el("table", "kb-align")).lastChild;
    add(t, el("caption", "vh", "Frames of your stack beside the frames of " + r.id + "; shared frames are on the same row"));
    var hr = el("tr");
    [["num", "#"], [null, "Your stack"], ["mid", null], ["num", "#"], [null, r.id]].forEach(function (h) {
      var th = el("th", h[0], h[1] || "");
      th.setAttribute("scope", "col");
      if (!h[1]) add(th, el("span", "vh", "Shared"));
      add(hr, th);
    });
    add(t, add(el("thead"), hr));
    var body = add(t, el("tbody")).lastChild;
    rows.forEach(function (w) {
      var tr = el("tr", w.matched ? "kb-pair" : "kb-gap");
      add(tr, el("td", "num", w.has_q ? w.q_pos : ""),
          add(el("td", cls("fr", [w.q_skipped, w.q_signature])), w.has_q ? code(w.q_label) : null),
          add(el("td", "mid"), w.matched ? sharedMark() : null),
          el("td", "num", w.has_i ? w.i_pos : ""),
          add(el("td", cls("fr", [w.i_skipped, w.i_signature])), w.has_i ? code(w.i_label) : null));
      add(body, tr);
    });
    return wrap;
  }
  function sharedMark() { var s = el("span", null, "="); s.setAttribute("aria-label", "shared"); return s; }

  function matchItem(r, rank, rows) {
    var li = el("li", "kb-match"), score = typeof r.score === "number" ? r.score : 0, st = score.toFixed(2);
    add(li, add(el("h3"), el("span", "kb-rank", rank + "."), " ", link(r.url, r.title)));
    var meter = el("meter", null, st);
    meter.setAttribute("min", "0");
    meter.setAttribute("max", "1");
    meter.setAttribute("value", String(score));
    meter.setAttribute("aria-label", "Score");
    var conf = str(r.confidence) || "";
    add(li, add(el("p", "kb-match-meta"), el("span", "kb-confidence kb-" + conf, conf), " ",
                add(el("span", "kb-score"), "score ", strong(st), " ", meter), " ",
                el("span", null, (r.matched_frames || []).length + " shared frames"), " ",
                add(el("span"), "id ", code(r.id))));
    if (r.via === "text") add(li, el("p", "kb-hint", "No stack of this incident aligns with yours: it was found by the crash reason's words."));
    if (str(r.signature)) add(li, add(el("p", "kb-hint"), "Incident signature ", code(r.signature)));
    if (rows && rows.length) add(li, alignTable(r, rows));
    return li;
  }

  function answerSection(d, rowsFor) {
    var results = d.results || [], n = results.length;
    var sec = el("section", "kb-answer");
    sec.setAttribute("aria-labelledby", "results-heading");
    var h = add(sec, el("h2", null, n ? n + " matching " + (n === 1 ? "incident" : "incidents") : "No matching incident"))
      .lastChild;
    h.id = "results-heading";
    if (!n) {
      var none = add(sec, el("div", "kb-none")).lastChild;
      none.setAttribute("role", "status");
      add(none, add(el("p"), strong("No incident in the knowledge base matches this stack."),
                    " None of its stacks shares enough frames near the crash site with yours (a match needs a score of 0.35)."));
      var names = topFrameSearches(d.frames || []);
      if (names.length) {
        add(none, el("p", null, "Search the write-ups for the top frames instead:"));
        var ul = add(none, el("ul", "kb-search-links")).lastChild;
        names.forEach(function (t) { add(ul, add(el("li"), add(link(searchHref(t, null, 0), "Search for "), code(t)))); });
      }
      add(none, el("p", null, "If you solve this one, write it up: the next person who pastes it will find it."));
    }
    var ol = add(sec, el("ol", "kb-matches")).lastChild;
    results.forEach(function (r, i) { add(ol, matchItem(r, i + 1, rowsFor(r))); });
    return sec;
  }

  function querySection(d, frames) {
    var sec = el("section", "kb-query");
    sec.setAttribute("aria-labelledby", "query-heading");
    add(sec, el("h2", null, "How your stack was read")).lastChild.id = "query-heading";
    var dl = add(sec, el("dl", "facts")).lastChild;
    function fact(dt, dd) { add(dl, add(el("div"), el("dt", null, dt), dd)); }
    fact("Format", el("dd", null, str(d.format) || ""));
    var rs = d.reason || {};
    if (str(rs.kind)) {
      fact("Crash", add(el("dd", null, rs.kind), str(rs.code) ? " " : null, str(rs.code) ? code(rs.code) : null,
                        str(rs.name) ? " " : null, str(rs.name) ? strong(rs.name) : null));
    }
    if (str(rs.message)) fact("Message", el("dd", null, rs.message));
    var skipped = frames.filter(function (f) { return f.skipped; }).length;
    fact("Frames", el("dd", null, frames.length + (skipped ? " (" + skipped + " skipped)" : "")));
    if (str(d.signature)) fact("Signature", add(el("dd"), code(d.signature)));
    if ((d.stacks || 0) > 1) add(sec, el("p", "kb-hint", "The text held " + d.stacks + " stacks; all were matched, the first is shown."));
    var sources = frames.some(function (f) { return f.loc; });
    var wrap = add(sec, el("div", "table-wrap")).lastChild, t = add(wrap, el("table", "frames kb-read")).lastChild;
    add(t, el("caption", "vh", "Frames of your stack, crash site first"));
    var hr = el("tr");
    ["#", "Frame"].concat(sources ? ["Source"] : [], ["Role"]).forEach(function (x) {
      var th = el("th", null, x);
      th.setAttribute("scope", "col");
      add(hr, th);
    });
    add(t, add(el("thead"), hr));
    var body = add(t, el("tbody")).lastChild;
    frames.forEach(function (f) {
      var tr = el("tr", cls("", [f.skipped, f.signature]));
      add(tr, el("td", null, f.pos), add(el("td", "fn"), code(f.label)), sources ? el("td", null, f.loc || "") : null,
          add(el("td"), f.signature ? el("span", "kb-badge", "signature") : null, f.skipped ? "skipped" : null));
      add(body, tr);
    });
    return sec;
  }

  // Match `text` and put the answer in `out` (the page's #kb-match-out).
  function renderMatch(out, text) {
    return K.ask({ type: "match", text: text, limit: MATCH_LIMIT }).then(function (d) {
      var results = d.results || [];
      // the incidents' stacks, for the side-by-side view
      return Promise.all(results.map(function (r) {
        if (typeof r.stack !== "number" || !(r.matched_frames || []).length || !r.id) return null;
        return K.ask({ type: "stack", incident: r.id, seq: r.stack })
          .then(function (s) { return s.frames; }, function () { return null; });
      })).then(function (stacks) { drawMatch(out, d, stacks); });
    });
  }

  function drawMatch(out, d, stacks) {
    out.textContent = "";
    if (!(d.stacks > 0)) {
      var none = el("div", "kb-none");
      none.setAttribute("role", "status");
      var p = add(none, el("p")).lastChild;
      add(p, strong("No stack frames were recognised in the text."), " ");
      if (str(d.message)) add(p, "(" + d.message + ".)");
      add(p, " Paste the stack as the debugger or log printed it, or ", link(K.base + "search?q=", "search"), " for words instead.");
      add(out, none);
      return;
    }
    var frames = (d.frames || []).map(function (f, i) {
      var file = str(f.file);
      return { pos: i, label: frameLabel(f), skipped: !!f.skipped, signature: !!f.signature,
               loc: file ? (typeof f.line === "number" ? file + ":" + f.line : file) : null,
               module: f.module, function: f.function };
    });
    var byResult = new Map();
    (d.results || []).forEach(function (r, i) { byResult.set(r, stacks[i]); });
    add(out, answerSection(d, function (r) {
      var iframes = byResult.get(r), pairs = r.matched_frames || [];
      if (!iframes) return null;
      return alignRows(pairsOnFirstStack(frames, pairs) ? frames : [], iframes, pairs);
    }), querySection(d, frames));
  }

  window.kbSnapshotPages = { search: renderSearch, match: renderMatch };
})();
