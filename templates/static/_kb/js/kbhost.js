// kbhost.js - the `kbhost` imports of kb.wasm (declared in wasm/host.h): the C core's
// SQLite calls, carried out by sqlite-wasm on the snapshot's kb.sqlite. Called by
// kb-worker.js: createKbHost(sqlite3, openDb) gives {imports, setMemory, db}.
//
// Each function maps one-to-one onto the SQLite C function of the same name, through
// sqlite-wasm's raw exports, so return codes and values are SQLite's own. Strings cross
// as UTF-8 bytes: from kb.wasm's memory into a sqlite3_malloc'ed copy (bind_text, freed
// by SQLite; prepare, freed here) and from SQLite's column/error text back into a
// buffer kb.wasm gives (length returned, min(len, cap) bytes copied, no NUL; -1 for
// NULL). Statement ids are small integers mapped to sqlite3_stmt pointers.

const SQLITE_OK = 0, SQLITE_MISUSE = 21, SQLITE_RANGE = 25;

export function createKbHost(sqlite3, openDb) {
  const x = sqlite3.wasm.exports, wasm = sqlite3.wasm;
  const stmts = new Map(); // id -> sqlite3_stmt*
  let nextId = 1, db = 0, memory = null, lastError = null; // lastError: bytes, or null = ask SQLite
  const enc = new TextEncoder();

  const kbBytes = (ptr, len) => new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0);
  // A copy of kb.wasm's bytes on SQLite's heap (sqlite3_malloc), NUL-terminated.
  function sqliteCopy(ptr, len) {
    const p = Number(x.sqlite3_malloc(len + 1));
    if (!p) return 0;
    const heap = wasm.heap8u();
    heap.set(kbBytes(ptr, len), p);
    heap[p + len] = 0;
    return p;
  }
  // Copy `src` (Uint8Array) into kb.wasm's buffer: the byte length is returned.
  function give(src, buf, cap) {
    if (cap > 0) kbBytes(buf, Math.min(src.length, cap)).set(src.subarray(0, Math.min(src.length, cap)));
    return src.length;
  }
  function noteError(rc) {
    if (rc !== SQLITE_OK && rc !== 100 && rc !== 101) {
      const p = db ? Number(x.sqlite3_errmsg(db)) : 0;
      lastError = p ? wasm.heap8u().slice(p, p + cstrlen(p)) : enc.encode(`SQLite error ${rc}`);
    }
    return rc;
  }
  function cstrlen(p) {
    const heap = wasm.heap8u();
    let e = p;
    while (heap[e]) e++;
    return e - p;
  }
  function stmt(id) {
    const s = stmts.get(id);
    if (!s) lastError = enc.encode(`no statement ${id}`);
    return s || 0;
  }

  const imports = {
    open(pathPtr, pathLen) {
      try {
        const path = new TextDecoder().decode(kbBytes(pathPtr, pathLen));
        db = openDb(path);
        return SQLITE_OK;
      } catch (e) {
        lastError = enc.encode(String((e && e.message) || e));
        return (e && e.sqliteRc) || 14; // SQLITE_CANTOPEN
      }
    },
    prepare(sqlPtr, sqlLen) {
      if (!db) { lastError = enc.encode("the index is not open"); return 0; }
      const sql = sqliteCopy(sqlPtr, sqlLen);
      if (!sql) { lastError = enc.encode("out of memory"); return 0; }
      const stack = wasm.pstack.pointer;
      try {
        const pp = Number(wasm.pstack.alloc(8));
        wasm.poke32(pp, 0);
        const rc = x.sqlite3_prepare_v2(db, sql, sqlLen, pp, 0);
        const s = wasm.peek32(pp);
        if (rc !== SQLITE_OK) { noteError(rc); return 0; }
        if (!s) { lastError = enc.encode("empty SQL statement"); return 0; }
        const id = nextId++;
        stmts.set(id, s);
        return id;
      } finally {
        wasm.pstack.restore(stack);
        x.sqlite3_free(sql);
      }
    },
    finalize(id) {
      const s = stmts.get(id);
      if (s) { stmts.delete(id); x.sqlite3_finalize(s); }
    },
    reset(id) { const s = stmt(id); return s ? noteError(x.sqlite3_reset(s)) : SQLITE_MISUSE; },
    clear_bindings(id) { const s = stmt(id); return s ? x.sqlite3_clear_bindings(s) : SQLITE_MISUSE; },
    bind_int64(id, idx, v) {
      const s = stmt(id);
      return s ? noteError(x.sqlite3_bind_int64(s, idx, BigInt.asIntN(64, BigInt(v)))) : SQLITE_MISUSE;
    },
    bind_double(id, idx, v) { const s = stmt(id); return s ? noteError(x.sqlite3_bind_double(s, idx, v)) : SQLITE_MISUSE; },
    bind_null(id, idx) { const s = stmt(id); return s ? noteError(x.sqlite3_bind_null(s, idx)) : SQLITE_MISUSE; },
    bind_text(id, idx, ptr, len) {
      const s = stmt(id);
      if (!s) return SQLITE_MISUSE;
      if (len < 0) return SQLITE_RANGE;
      const p = sqliteCopy(ptr, len);
      if (!p) { lastError = enc.encode("out of memory"); return 7; } // SQLITE_NOMEM
      // SQLite frees the copy with sqlite3_free (SQLITE_WASM_DEALLOC), even on failure
      return noteError(x.sqlite3_bind_text(s, idx, p, len, sqlite3.capi.SQLITE_WASM_DEALLOC));
    },
    step(id) { const s = stmt(id); return s ? noteError(x.sqlite3_step(s)) : SQLITE_MISUSE; },
    column_type(id, col) { const s = stmt(id); return s ? x.sqlite3_column_type(s, col) : 5; },
    column_int64(id, col) { const s = stmt(id); return s ? BigInt(x.sqlite3_column_int64(s, col)) : 0n; },
    column_double(id, col) { const s = stmt(id); return s ? x.sqlite3_column_double(s, col) : 0; },
    column_text(id, col, buf, cap) {
      const s = stmt(id);
      if (!s) return -1;
      const p = Number(x.sqlite3_column_text(s, col)); // before column_bytes, as SQLite asks
      if (!p) return -1;
      const n = x.sqlite3_column_bytes(s, col);
      return give(wasm.heap8u().subarray(p, p + n), buf, cap);
    },
    errmsg(buf, cap) {
      if (lastError) return give(lastError, buf, cap);
      const p = db ? Number(x.sqlite3_errmsg(db)) : 0;
      return give(p ? wasm.heap8u().subarray(p, p + cstrlen(p)) : enc.encode("not an error"), buf, cap);
    },
  };
    // lastError holds the last failure's message until the next failure replaces it.
  return {
    imports,
    setMemory(m) { memory = m; },
    get db() { return db; },
    statements() { return stmts.size; },
    // Finalize what kb.wasm left open and close the index (a kb.wasm instance that trapped).
    close() {
      for (const s of stmts.values()) x.sqlite3_finalize(s);
      stmts.clear();
      if (db) x.sqlite3_close_v2(db);
      db = 0;
    },
  };
}
