// wasi.js - the least of WASI (wasi_snapshot_preview1) kb.wasm needs in a browser
// worker: stdout/stderr to the console, clocks, random bytes, empty arguments and
// environment, no files. Called by kb-worker.js: wasiImports(module, getMemory) builds
// the import object for every wasi function the module imports; those not implemented
// here answer ENOSYS (52), so a new import in kb.wasm cannot break instantiation.

const ESUCCESS = 0, EBADF = 8, ENOSYS = 52;

export class WasiExit extends Error {
  constructor(code) { super(`kb.wasm exited with status ${code}`); this.code = code; }
}

export function wasiImports(module, getMemory) {
  const view = () => new DataView(getMemory().buffer);
  const bytes = (ptr, len) => new Uint8Array(getMemory().buffer, ptr >>> 0, len >>> 0);
  const lines = { 1: "", 2: "" };
  const dec = new TextDecoder();

  function out(fd, text) {
    lines[fd] += text;
    let nl;
    while ((nl = lines[fd].indexOf("\n")) >= 0) {
      const line = lines[fd].slice(0, nl);
      lines[fd] = lines[fd].slice(nl + 1);
      (fd === 2 ? console.warn : console.log)("kb.wasm:", line);
    }
  }
  const emptyList = (countPtr, sizePtr) => {
    const v = view();
    v.setUint32(countPtr, 0, true);
    v.setUint32(sizePtr, 0, true);
    return ESUCCESS;
  };

  const impl = {
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      if (fd !== 1 && fd !== 2) return EBADF;
      const v = view();
      let n = 0, text = "";
      for (let i = 0; i < iovsLen; i++) {
        const p = v.getUint32(iovs + i * 8, true), len = v.getUint32(iovs + i * 8 + 4, true);
        text += dec.decode(bytes(p, len), { stream: true });
        n += len;
      }
      out(fd, text);
      view().setUint32(nwrittenPtr, n, true);
      return ESUCCESS;
    },
    fd_close: () => ESUCCESS,
    fd_seek: () => EBADF,
    fd_fdstat_get(fd, statPtr) {
      if (fd > 2) return EBADF;
      const v = view();
      for (let i = 0; i < 24; i++) v.setUint8(statPtr + i, 0);
      v.setUint8(statPtr, 2); // filetype: character device
      return ESUCCESS;
    },
    fd_prestat_get: () => EBADF, // no preopened directories
    fd_prestat_dir_name: () => EBADF,
    clock_time_get(id, precision, timePtr) {
      // 0 = realtime; the others (monotonic, CPU time) from the worker's clock
      const ns = id === 0 ? BigInt(Date.now()) * 1000000n : BigInt(Math.round(performance.now() * 1e6));
      view().setBigUint64(timePtr, ns, true);
      return ESUCCESS;
    },
    clock_res_get(id, resPtr) { view().setBigUint64(resPtr, 1000n, true); return ESUCCESS; },
    random_get(ptr, len) {
      for (let off = 0; off < len; off += 65536) crypto.getRandomValues(bytes(ptr + off, Math.min(65536, len - off)));
      return ESUCCESS;
    },
    proc_exit(code) { throw new WasiExit(code); },
    environ_sizes_get: emptyList,
    environ_get: () => ESUCCESS,
    args_sizes_get: emptyList,
    args_get: () => ESUCCESS,
    sched_yield: () => ESUCCESS,
    poll_oneoff: () => ENOSYS,
  };

  const wasi = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== "wasi_snapshot_preview1" || imp.kind !== "function") continue;
    wasi[imp.name] = impl[imp.name] || (() => ENOSYS);
  }
  return wasi;
}
