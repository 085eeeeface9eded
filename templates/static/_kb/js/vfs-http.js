// vfs-http.js - a read-only SQLite VFS for sqlite-wasm that reads a database file over
// HTTP with synchronous Range requests (allowed in workers only), so a query fetches the
// pages it needs, not the file. Called by kb-worker.js: installHttpVfs(sqlite3) once,
// then open(url) gives a name to pass to sqlite3_open_v2 with this VFS.
//
// Reads go through a cache of fixed-size blocks (BLOCK bytes, aligned on block
// boundaries, so on SQLite pages too). A read that needs blocks not in the cache fetches
// the missing run in one request. When a read goes on from where an earlier fetch ended
// (a long doclist, overflow pages, an index scan), forwards or backwards, the fetch reads
// ahead, doubling up to AHEAD_MAX bytes; many such streams are followed at once (FTS5
// merges the doclists of all a query's terms, each read in order, their reads interleaved). The first request
// asks for block 0 and learns the file's size from Content-Range; a server that ignores
// Range (status 200) hands over the whole file, which is then kept and served from
// memory. Every response after the first must carry the same ETag / Last-Modified (if
// the first had one): a file replaced mid-session fails the read instead of mixing pages
// of two builds. Bytes, requests and the time spent waiting are counted (stats).

// One SQLite page per block: at 10,000 incidents (300 MB), six cold first answers fetched
// 5.7 MB in 563 requests with 4 KB blocks, 7.2 MB / 487 with 8 KB, 9.8 MB / 414 with 16 KB,
// 14 MB / 377 with 32 KB (tests/e2e/snapshot-bench.mjs): bytes grow with the block much
// faster than requests fall. A 32 KB read-ahead ceiling: 5.5 MB / 581; 256 KB: more bytes.
const BLOCK = 4096;
const AHEAD_MAX = 64 * 1024;    // read-ahead ceiling for sequential reads
const CACHE_MAX = 64 << 20;     // bytes of blocks kept (least recently used dropped)
const STREAMS = 64;             // sequential readers followed at once

// SQLite constants (stable ABI values), used when capi lacks one.
const RC = { OK: 0, ERROR: 1, READONLY: 8, NOTFOUND: 12, CANTOPEN: 14, IOERR_READ: 266, IOERR_SHORT_READ: 522,
             IOERR_WRITE: 778 };
const IOCAP_IMMUTABLE = 0x2000;

class HttpFile {
  constructor(url, stats, opts) {
    this.url = url;
    this.stats = stats;
    this.block = opts.block || BLOCK;
    this.aheadMax = opts.aheadMax || AHEAD_MAX;
    this.cacheMax = opts.cacheMax || CACHE_MAX;
    this.size = -1;          // unknown until the first response
    this.whole = null;       // the whole file when the server ignores Range
    this.blocks = new Map(); // block number -> Uint8Array (Map order = recency)
    this.cached = 0;         // bytes in this.blocks
    this.validator = null;   // ETag or Last-Modified of the first response
    this.streams = [];       // {next, prev: blocks just after / before a fetch, ahead: read-ahead in blocks}
  }

  // One synchronous GET; a Range header unless whole. Returns {status, body, xhr}.
  request(range) {
    const t0 = performance.now();
    const xhr = new XMLHttpRequest();
    xhr.open("GET", this.url, false);
    xhr.responseType = "arraybuffer";
    if (range) xhr.setRequestHeader("Range", range);
    xhr.send();
    const body = xhr.response ? new Uint8Array(xhr.response) : new Uint8Array(0);
    this.stats.requests++;
    this.stats.bytes += body.length;
    this.stats.ms += performance.now() - t0;
    return { status: xhr.status, body, xhr };
  }

  checkValidator(xhr) {
    const v = xhr.getResponseHeader("ETag") || xhr.getResponseHeader("Last-Modified");
    if (this.validator === null) this.validator = v || "";
    else if (v && this.validator && v !== this.validator) {
      throw new Error(`${this.url} changed on the server while it was being read: reload the page`);
    }
  }

  // Fetch bytes [start, end] (inclusive); store every whole block received.
  fetch(start, end) {
    const { status, body, xhr } = this.request(`bytes=${start}-${end}`);
    if (status === 200) { // Range ignored: this is the whole file
      this.checkValidator(xhr);
      this.whole = body;
      this.size = body.length;
      this.blocks.clear();
      this.cached = 0;
      return;
    }
    if (status !== 206) throw new Error(`${this.url}: HTTP ${status || "request failed"}`);
    this.checkValidator(xhr);
    if (!/^(identity)?$/i.test(xhr.getResponseHeader("Content-Encoding") || "")) {
      throw new Error(`${this.url}: the server compresses ranges of it (Content-Encoding); serve it uncompressed`);
    }
    const cr = /bytes\s+(\d+)-(\d+)\/(\d+|\*)/i.exec(xhr.getResponseHeader("Content-Range") || "");
    if (!cr) throw new Error(`${this.url}: partial response without Content-Range`);
    const first = Number(cr[1]);
    if (cr[3] !== "*") this.size = Number(cr[3]);
    else if (this.size < 0) this.size = this.headSize();
    if (first % this.block !== 0) throw new Error(`${this.url}: the server answered another range (${cr[0]})`);
    for (let off = 0; off < body.length; off += this.block) {
      const n = Math.min(this.block, body.length - off);
      // a block is whole when it is full or ends at the end of the file
      if (n === this.block || first + off + n === this.size) this.put((first + off) / this.block, body.subarray(off, off + n));
    }
  }

  headSize() {
    const xhr = new XMLHttpRequest();
    xhr.open("HEAD", this.url, false);
    xhr.send();
    this.stats.requests++;
    const n = Number(xhr.getResponseHeader("Content-Length"));
    if (!(xhr.status >= 200 && xhr.status < 300) || !Number.isFinite(n)) throw new Error(`${this.url}: size unknown`);
    return n;
  }

  put(i, data) {
    if (this.blocks.has(i)) return;
    this.blocks.set(i, data);
    this.cached += data.length;
    for (const [k, v] of this.blocks) {
      if (this.cached <= this.cacheMax) break;
      this.blocks.delete(k);
      this.cached -= v.length;
    }
  }

  get(i) {
    const b = this.blocks.get(i);
    if (b) { this.blocks.delete(i); this.blocks.set(i, b); } // most recently used last
    return b;
  }

  // Learn the size (and maybe get the whole file) with the first request.
  open() {
    if (this.size < 0) this.fetch(0, this.block - 1);
    return this.size;
  }

  // Make blocks b0..b1 present: fetch each missing run in one request, reading ahead
  // when the run goes on from an earlier fetch: after its end, or (a b-tree whose pages
  // were laid out backwards, as FTS5's doclists often are) before its start.
  load(b0, b1) {
    const last = Math.ceil(this.size / this.block) - 1, most = Math.floor(this.aheadMax / this.block);
    for (let i = b0; i <= b1 && !this.whole; i++) {
      if (this.blocks.has(i)) continue;
      let j = i;
      while (j < b1 && !this.blocks.has(j + 1)) j++;
      const k = this.streams.findIndex((s) => s.next === i || (s.prev === j && i === j));
      const st = k >= 0 ? this.streams.splice(k, 1)[0] : { next: -1, prev: -1, ahead: 0 };
      st.ahead = k >= 0 ? Math.min(Math.max(1, st.ahead * 2), most) : 0;
      let from = i, to = j;
      if (k >= 0 && st.prev === i && st.next !== i) { // backwards
        from = Math.max(i - st.ahead, 0);
        while (from < i && this.blocks.has(from)) from++;
      } else {
        to = Math.min(j + st.ahead, last);
        while (to > j && this.blocks.has(to)) to--; // do not fetch what is cached at the end
      }
      this.fetch(from * this.block, Math.min((to + 1) * this.block, this.size) - 1);
      st.next = to + 1;
      st.prev = from - 1;
      this.streams.push(st);
      if (this.streams.length > STREAMS) this.streams.shift();
      i = j;
    }
  }

  // Copy `dest.length` bytes from `offset` into dest; returns the bytes available.
  read(dest, offset) {
    this.open();
    const n = Math.max(0, Math.min(dest.length, this.size - offset));
    if (n === 0) return 0;
    if (!this.whole) this.load(Math.floor(offset / this.block), Math.floor((offset + n - 1) / this.block));
    if (this.whole) { dest.set(this.whole.subarray(offset, offset + n)); return n; }
    let done = 0;
    while (done < n) {
      const at = offset + done, bi = Math.floor(at / this.block), b = this.get(bi);
      if (!b) throw new Error(`${this.url}: block ${bi} missing after fetch`);
      const from = at - bi * this.block, k = Math.min(n - done, b.length - from);
      dest.set(b.subarray(from, from + k), done);
      done += k;
    }
    return n;
  }
}

// Registers the VFS; returns {name, open(url) -> file name for sqlite3_open_v2, stats,
// lastError}. `opts` may set block, aheadMax, cacheMax (bytes) for measurements.
export function installHttpVfs(sqlite3, opts = {}) {
  const capi = sqlite3.capi, wasm = sqlite3.wasm;
  const c = (k) => (capi["SQLITE_" + k] !== undefined ? capi["SQLITE_" + k] : RC[k]);
  const name = opts.name || "kb-http";
  const stats = { bytes: 0, requests: 0, ms: 0 }; // ms: time spent waiting for responses
  const byName = new Map(); // file name given to SQLite -> HttpFile
  const byPtr = new Map();  // sqlite3_file* -> HttpFile
  const state = { lastError: null };
  const fail = (e, rc) => { state.lastError = e; return rc; };

  const io = new capi.sqlite3_io_methods();
  io.$iVersion = 1;
  const ioMethods = {
    xClose(pFile) { byPtr.delete(Number(pFile)); return 0; },
    xRead(pFile, pDest, n, offset64) {
      const f = byPtr.get(Number(pFile));
      const dest = wasm.heap8u().subarray(Number(pDest), Number(pDest) + n);
      try {
        const got = f.read(dest, Number(offset64));
        if (got < n) { dest.fill(0, got); return c("IOERR_SHORT_READ"); }
        return 0;
      } catch (e) {
        return fail(e, c("IOERR_READ"));
      }
    },
    xWrite() { return c("READONLY"); },
    xTruncate() { return c("READONLY"); },
    xSync() { return 0; },
    xFileSize(pFile, pSz64) {
      try {
        wasm.poke64(pSz64, BigInt(byPtr.get(Number(pFile)).open()));
        return 0;
      } catch (e) {
        return fail(e, c("IOERR_READ"));
      }
    },
    xLock() { return 0; },
    xUnlock() { return 0; },
    xCheckReservedLock(pFile, pOut) { wasm.poke32(pOut, 0); return 0; },
    xFileControl() { return c("NOTFOUND"); },
    xSectorSize() { return 4096; },
    xDeviceCharacteristics() { return IOCAP_IMMUTABLE; },
  };

  const vfs = new capi.sqlite3_vfs();
  const dflt = capi.sqlite3_vfs_find(null);
  const dVfs = dflt ? new capi.sqlite3_vfs(dflt) : null;
  vfs.$iVersion = 1;
  vfs.$szOsFile = capi.sqlite3_file.structInfo.sizeof;
  vfs.$mxPathname = 1024;
  if (dVfs) { // randomness, sleep and time as the default VFS does them
    vfs.$xRandomness = dVfs.$xRandomness;
    vfs.$xSleep = dVfs.$xSleep;
    vfs.$xCurrentTime = dVfs.$xCurrentTime;
    dVfs.dispose();
  }
  const vfsMethods = {
    xOpen(pVfs, zName, pFile, flags, pOutFlags) {
      const f = zName ? byName.get(wasm.cstrToJs(zName)) : null;
      if (!f || (flags & c("OPEN_READWRITE")) || (flags & c("OPEN_CREATE"))) {
        return fail(new Error(f ? "the snapshot's index is read-only" : "no such file"), c("CANTOPEN"));
      }
      byPtr.set(Number(pFile), f);
      const sf = new capi.sqlite3_file(pFile);
      sf.$pMethods = io.pointer;
      sf.dispose();
      if (pOutFlags) wasm.poke32(pOutFlags, c("OPEN_READONLY"));
      return 0;
    },
    xDelete() { return c("READONLY"); },
    xAccess(pVfs, zName, flags, pOut) { // only the database exists: no journal, no WAL
      wasm.poke32(pOut, zName && byName.has(wasm.cstrToJs(zName)) ? 1 : 0);
      return 0;
    },
    xFullPathname(pVfs, zName, nOut, pOut) {
      return wasm.cstrncpy(pOut, zName, nOut) < nOut ? 0 : c("CANTOPEN");
    },
    xGetLastError(pVfs, nOut, pOut) {
      const msg = state.lastError ? String(state.lastError.message || state.lastError) : "";
      const bytes = new TextEncoder().encode(msg).subarray(0, Math.max(0, nOut - 1));
      const heap = wasm.heap8u();
      heap.set(bytes, Number(pOut));
      heap[Number(pOut) + bytes.length] = 0;
      return 0;
    },
  };
  if (!vfs.$xRandomness) vfsMethods.xRandomness = (pVfs, nOut, pOut) => {
    crypto.getRandomValues(wasm.heap8u().subarray(Number(pOut), Number(pOut) + nOut));
    return nOut;
  };
  if (!vfs.$xSleep) vfsMethods.xSleep = () => 0;
  if (!vfs.$xCurrentTime) vfsMethods.xCurrentTime = (pVfs, pOut) => {
    wasm.poke64f(pOut, 2440587.5 + Date.now() / 864e5);
    return 0;
  };
  sqlite3.vfs.installVfs({ io: { struct: io, methods: ioMethods }, vfs: { struct: vfs, methods: vfsMethods, name } });

  let seq = 0;
  return {
    name,
    stats,
    get lastError() { return state.lastError; },
    // A name SQLite can open with this VFS for the file at `url` (absolute URL).
    open(url) {
      const key = `/kb-http-${++seq}.sqlite`;
      byName.set(key, new HttpFile(url, stats, opts));
      return key;
    },
    file(key) { return byName.get(key); },
  };
}
