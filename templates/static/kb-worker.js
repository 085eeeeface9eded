// kb-worker.js - search and stack matching in the browser, for a snapshot of the site on
// a static host (no `kb serve` behind it). A module Web Worker started by kb.js.
//
// It runs the same C core as `kb serve` (kb.wasm: search, stack parser, matcher) on the
// same index (kb.sqlite), read with the official SQLite WebAssembly build through a
// VFS that fetches only the pages a query needs over HTTP Range requests:
//   _kb/wasm/sqlite3.js + sqlite3.wasm  @sqlite.org/sqlite-wasm (dist/index.mjs, dist/sqlite3.wasm)
//   _kb/wasm/kb.wasm                    the C core, a WASI reactor (wasm/ in the repository)
//   _kb/js/vfs-http.js, kbhost.js, wasi.js   the glue between them
// All paths are relative to this file, which sits at the site's base URL.
//
// Messages in:  {id, type: "search", q, limit} | {id, type: "match", text, limit}
//               | {id, type: "warm"} (start up and open the index, before the first query)
//               | {id, type: "stack", incident, seq} (an incident's stack frames, for the
//               side-by-side view of a match) | {id, type: "categories", ids} (for the
//               search page's filters; both read the index directly, not through kb.wasm)
// Messages out: {id, body, transfer: {bytes, requests, ms}, ms, query_ms, total}
//               or {id, error, ...}. body is the JSON text (as kb serve's /api/search and
//               /api/match send it); transfer: the index bytes and requests the answer
//               cost, and the time spent waiting for them; ms: from the message to the
//               answer (the first one includes starting up); total: what the worker has
//               fetched of the index so far.
// Measurement knobs (tests/e2e/snapshot-bench.mjs): kb-worker.js?block=BYTES&ahead=BYTES.
import { installHttpVfs } from "./_kb/js/vfs-http.js";
import { createKbHost } from "./_kb/js/kbhost.js";
import { wasiImports } from "./_kb/js/wasi.js";

const base = new URL("./", self.location.href);
const asset = (p) => new URL(p, base).href;
const enc = new TextEncoder(), dec = new TextDecoder();
const SQLITE_OPEN_READONLY = 1, SQLITE_OPEN_URI = 0x40;

let sqlite3 = null, vfs = null, indexName = null, kbModule = null, engine = null, starting = null;

// The bytes of a _kb/wasm/ file. kb build puts a gzipped copy beside each (cmake/wasm.cmake):
// plain static hosts (python's http.server, nginx's default gzip_types) send .wasm and .js
// uncompressed, so the .gz copy, inflated here, is about 2.5 times fewer bytes. A host that
// decoded it already (Content-Encoding) hands over the plain bytes: the gzip magic decides.
async function fetchAsset(name) {
  const url = asset(`_kb/wasm/${name}`);
  if (typeof DecompressionStream === "function") {
    try {
      const res = await fetch(`${url}.gz`);
      if (res.ok) {
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
        const plain = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
        return new Uint8Array(await new Response(plain).arrayBuffer());
      }
    } catch (e) {
      console.warn(`kb: ${url}.gz: ${e.message}; fetching ${url}`);
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function compileKbWasm() {
  return WebAssembly.compile(await fetchAsset("kb.wasm"));
}

// sqlite-wasm's module, loaded from its bytes (a blob: URL), with its sqlite3.wasm
// instantiated from ours (emscripten's instantiateWasm hook) instead of its own fetch.
async function loadSqlite() {
  const [js, wasmBytes] = await Promise.all([fetchAsset("sqlite3.js"), fetchAsset("sqlite3.wasm")]);
  const blobUrl = URL.createObjectURL(new Blob([js], { type: "text/javascript" }));
  let init;
  try {
    ({ default: init } = await import(blobUrl));
  } finally {
    URL.revokeObjectURL(blobUrl);
  }
  const instantiateWasm = (imports, done) => {
    WebAssembly.instantiate(wasmBytes, imports).then((r) => done(r.instance, r.module));
    return {};
  };
  const s = await init({ print: () => {}, printErr: (...a) => console.warn("sqlite3:", ...a), instantiateWasm });
  // the measurement knobs (see the top)
  const knob = (k) => Number(new URLSearchParams(self.location.search).get(k)) || undefined;
  vfs = installHttpVfs(s, { block: knob("block"), aheadMax: knob("ahead") });
  return s;
}

// Opens the snapshot's kb.sqlite through the HTTP VFS: read-only, immutable (no locks,
// no journal). Called by kbhost's open() when kb.wasm initializes.
function openIndex() {
  const name = indexName || (indexName = vfs.open(asset("kb.sqlite"))); // one block cache per worker
  const capi = sqlite3.capi, wasm = sqlite3.wasm, stack = wasm.pstack.pointer;
  try {
    const pp = wasm.pstack.allocPtr();
    const rc = capi.sqlite3_open_v2(`file:${name}?immutable=1`, pp, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, vfs.name);
    const db = wasm.peekPtr(pp);
    if (rc !== 0) {
      const why = vfs.lastError ? vfs.lastError.message : db ? capi.sqlite3_errmsg(db) : `SQLite error ${rc}`;
      if (db) capi.sqlite3_close_v2(db);
      throw Object.assign(new Error(`cannot open the index: ${why}`), { sqliteRc: rc });
    }
    return db;
  } finally {
    wasm.pstack.restore(stack);
  }
}

// kb.wasm instantiated against sqlite-wasm; its kb_wasm_init() opens the index.
async function start() {
  const kbP = kbModule ? Promise.resolve(kbModule) : compileKbWasm();
  if (!sqlite3) sqlite3 = await loadSqlite();
  kbModule = await kbP;
  const host = createKbHost(sqlite3, openIndex);
  let memory = null;
  const imports = { wasi_snapshot_preview1: wasiImports(kbModule, () => memory), kbhost: host.imports };
  const missing = WebAssembly.Module.imports(kbModule)
    .filter((i) => !(imports[i.module] && i.name in imports[i.module])).map((i) => `${i.module}.${i.name}`);
  if (missing.length) throw new Error(`kb.wasm imports what this worker lacks: ${missing.join(", ")}`);
  const instance = await WebAssembly.instantiate(kbModule, imports);
  const ex = instance.exports;
  memory = ex.memory;
  host.setMemory(memory);
  if (ex._initialize) ex._initialize();
  const rc = ex.kb_wasm_init();
  if (rc !== 0) {
    if (host.db) sqlite3.capi.sqlite3_close_v2(host.db);
    throw new Error(`kb_wasm_init failed (${rc}): ${vfs.lastError ? vfs.lastError.message : "see the console"}`);
  }
  return { ex, memory, host };
}

// Calls fn(ptr, len, limit) of kb.wasm with `text`; returns the JSON text it answers.
function callJson(eng, fn, text, limit) {
  const { ex, memory } = eng;
  const b = enc.encode(text);
  const p = ex.kb_wasm_alloc(b.length + 1) >>> 0;
  if (!p) throw new Error("kb.wasm is out of memory");
  new Uint8Array(memory.buffer, p, b.length + 1).set(b); // (+ the NUL the alloc left room for)
  new Uint8Array(memory.buffer)[p + b.length] = 0;
  let r;
  try {
    r = fn(p, b.length, limit) >>> 0;
  } finally {
    ex.kb_wasm_free(p);
  }
  if (!r) throw new Error("kb.wasm returned no answer");
  const mem = new Uint8Array(memory.buffer);
  let e = r;
  while (mem[e]) e++;
  const json = dec.decode(mem.subarray(r, e));
  ex.kb_wasm_free(r);
  return json;
}

// Rows of one SQL query on the index, read directly (not through kb.wasm): each row an
// array of its columns (text or numbers; null for NULL).
function rows(eng, sql, binds) {
  const capi = sqlite3.capi, wasm = sqlite3.wasm, db = eng.host.db, stack = wasm.pstack.pointer;
  let st = 0;
  try {
    const pp = wasm.pstack.allocPtr();
    if (capi.sqlite3_prepare_v2(db, sql, -1, pp, null) !== 0) throw new Error(capi.sqlite3_errmsg(db));
    st = wasm.peekPtr(pp);
    binds.forEach((v, i) => {
      if (typeof v === "number") capi.sqlite3_bind_int64(st, i + 1, BigInt(v));
      else { // (3.54.1's JS wrapper of bind_text fails on JS strings: a copy SQLite frees)
        const [p, n] = wasm.allocCString(String(v), true);
        wasm.exports.sqlite3_bind_text(st, i + 1, p, n, capi.SQLITE_WASM_DEALLOC);
      }
    });
    const out = [];
    let rc;
    while ((rc = capi.sqlite3_step(st)) === 100) {
      const row = [];
      for (let c = 0; c < capi.sqlite3_column_count(st); c++) {
        const t = capi.sqlite3_column_type(st, c);
        row.push(t === 5 ? null : t === 1 ? capi.sqlite3_column_int(st, c) : capi.sqlite3_column_text(st, c));
      }
      out.push(row);
    }
    if (rc !== 101) throw new Error(capi.sqlite3_errmsg(db));
    return out;
  } finally {
    if (st) capi.sqlite3_finalize(st);
    wasm.pstack.restore(stack);
  }
}

// The frames of one stack of an incident (as /api/incidents/ID lists them). stacks.frames
// is JSON: one array per frame, [module, function, offset, file, line, norm, flags].
function stackFrames(eng, incident, seq) {
  const found = rows(eng, "SELECT s.frames FROM incidents i JOIN stacks s ON s.incident = i.rowid"
    + " WHERE i.id = ? AND s.seq = ?", [String(incident), Number(seq) | 0]);
  let list = [];
  try { list = found.length ? JSON.parse(found[0][0]) : []; } catch (e) { list = []; }
  const frames = (Array.isArray(list) ? list : []).map((f, pos) => ({ pos, module: f[0], function: f[1],
    offset: f[2], skipped: (f[6] & 1) !== 0, signature: (f[6] & 4) !== 0 }));
  return JSON.stringify({ id: incident, seq, frames });
}

// The categories of incidents by id (the search page's filters): {id: [names]}.
function categories(eng, ids) {
  const list = (Array.isArray(ids) ? ids : []).slice(0, 100).map(String), out = {};
  if (!list.length) return "{}";
  const found = rows(eng, `SELECT id, categories FROM incidents WHERE id IN (${list.map(() => "?").join(",")})`, list);
  for (const [id, cats] of found) {
    try { out[id] = JSON.parse(cats || "[]"); } catch (e) { out[id] = []; }
  }
  return JSON.stringify(out);
}

async function answer(msg) {
  const t0 = performance.now();
  const before = vfs ? { ...vfs.stats } : { bytes: 0, requests: 0, ms: 0 };
  const out = { id: msg.id };
  try {
    if (!engine) engine = await (starting || (starting = start().finally(() => { starting = null; })));
    const limit = Math.max(1, Math.min(100, Number(msg.limit) || 10));
    const q0 = performance.now();
    try {
      if (msg.type === "warm") out.body = "{}"; // started, index open: the next answer comes sooner
      else if (msg.type === "search") out.body = callJson(engine, engine.ex.kb_wasm_search, String(msg.q || ""), limit);
      else if (msg.type === "match") out.body = callJson(engine, engine.ex.kb_wasm_match, String(msg.text || ""), limit);
      else if (msg.type === "stack") out.body = stackFrames(engine, msg.incident, msg.seq);
      else if (msg.type === "categories") out.body = categories(engine, msg.ids);
      else throw new Error(`unknown request type ${msg.type}`);
    } catch (e) {
      // a trap leaves kb.wasm in an unknown state: start a fresh instance next time
      if (e instanceof WebAssembly.RuntimeError) { engine.host.close(); engine = null; }
      throw e;
    }
    out.query_ms = Math.round((performance.now() - q0) * 10) / 10;
  } catch (e) {
    out.error = String((e && e.message) || e);
  }
  const now = vfs ? vfs.stats : { bytes: 0, requests: 0, ms: 0 };
  out.transfer = { bytes: now.bytes - before.bytes, requests: now.requests - before.requests,
                   ms: Math.round((now.ms - before.ms) * 10) / 10 };
  out.total = { bytes: now.bytes, requests: now.requests };
  out.ms = Math.round((performance.now() - t0) * 10) / 10;
  return out;
}

// One request at a time, in order: the C core and SQLite are not re-entrant.
let queue = Promise.resolve();
self.onmessage = (ev) => {
  const msg = ev.data || {};
  queue = queue.then(() => answer(msg)).then((out) => self.postMessage(out));
};
