// snapshot-lib.mjs - what the snapshot tests (snapshot.test.mjs, snapshot-bench.mjs) need
// besides lib.mjs: a site built with the repository's `kb build` and copied to a folder as
// someone would put it on a static host, three static servers for it (python3 -m http.server,
// which ignores Range requests, range-server.mjs, which answers them as nginx does, and
// Debian's nginx with its default configuration),
// and a way to ask the page's search worker (kb-worker.js) directly.
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { root, kbBinary } from "./lib.mjs";

export const wasmDir = process.env.KB_WASM_DIR || path.join(root, "build", "wasm");
const sqliteDist = path.join(root, "node_modules", "@sqlite.org", "sqlite-wasm", "dist");

// Why the snapshot tests cannot run here, or null.
export function missingForSnapshot() {
  if (!fs.existsSync(kbBinary)) return `no kb binary at ${kbBinary}`;
  if (!fs.existsSync(path.join(wasmDir, "kb.wasm"))) return `no kb.wasm in ${wasmDir} (cmake --build build --target kb-wasm)`;
  if (!fs.existsSync(path.join(sqliteDist, "sqlite3.wasm"))) return "no @sqlite.org/sqlite-wasm in node_modules (npm ci)";
  return null;
}

// `kb build` of content/ (plus extra Markdown files) into tmp/site with the given base URL.
export function buildSite(tmp, { base = "/", extra = [] } = {}) {
  const content = path.join(tmp, "content"), site = path.join(tmp, "site");
  fs.mkdirSync(content, { recursive: true });
  for (const f of fs.readdirSync(path.join(root, "content"))) {
    if (f.endsWith(".md")) fs.copyFileSync(path.join(root, "content", f), path.join(content, f));
  }
  extra.forEach((file, i) => fs.copyFileSync(file, path.join(content, `extra-${i}.md`)));
  execFileSync(kbBinary, ["build", "--content", content, "--templates", path.join(root, "templates"), "--out", site,
                          "--base-url", base], { stdio: ["ignore", "ignore", "inherit"] });
  return site;
}

// `kb serve --no-build` of a site: {child, url} (url ends with the base, e.g. /kb/).
export function startKbServe(site, base = "/") {
  const child = spawn(kbBinary, ["serve", "--no-build", "--port", "0", "--site", site, "--templates",
                                 path.join(root, "templates"), "--log", "off"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => { child.kill(); reject(new Error("kb serve printed no URL in 10 s")); }, 10000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+?)\/(\s|$)/);
      if (m) { clearTimeout(timer); child.stdout.resume(); resolve({ child, url: m[1] + base }); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`kb serve exited (${code})`)); });
  });
}

export async function stop(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

// A copy of the built site `site` under www/<base> (what a team would publish), checked to
// hold what kb build writes for a snapshot: _kb/wasm/ (kb.wasm, sqlite3.js, sqlite3.wasm and
// their .gz copies) and the empty search and match pages a static host lands on.
export async function makeSnapshot(site, www, base) {
  const dir = path.join(www, ...base.split("/").filter(Boolean));
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.cpSync(site, dir, { recursive: true, dereference: true });
  const need = ["_kb/wasm/kb.wasm", "_kb/wasm/kb.wasm.gz", "_kb/wasm/sqlite3.js", "_kb/wasm/sqlite3.js.gz",
                "_kb/wasm/sqlite3.wasm", "_kb/wasm/sqlite3.wasm.gz", "search/index.html", "match/index.html",
                "kb-worker.js"];
  for (const f of need)
    if (!fs.existsSync(path.join(dir, f))) throw new Error(`kb build did not write ${f} into ${site}`);
  return dir;
}

// python3 -m http.server on a free port (no Range support): {child, origin}.
export function startPython(dir) {
  const child = spawn("python3", ["-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, "0"],
                      { stdio: ["ignore", "pipe", "ignore"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => { child.kill(); reject(new Error("python3 -m http.server did not start")); }, 10000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/port (\d+)/);
      if (m) { clearTimeout(timer); child.stdout.resume(); resolve({ child, origin: `http://127.0.0.1:${m[1]}` }); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`python3 -m http.server exited (${code})`)); });
  });
}

// tests/e2e/range-server.mjs on a free port, in its own process (answers Range requests,
// as nginx does): {child, origin}.
export function startRangeServer(dir) {
  const child = spawn(process.execPath, [path.join(root, "tests", "e2e", "range-server.mjs"), dir],
                      { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => { child.kill(); reject(new Error("range-server.mjs did not start")); }, 10000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+?)\//);
      if (m) { clearTimeout(timer); child.stdout.resume(); resolve({ child, origin: m[1] }); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`range-server.mjs exited (${code})`)); });
  });
}

export const nginxPath = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((f) => fs.existsSync(f)) || null;

// Debian's nginx with its default configuration: /etc/nginx/nginx.conf as installed, with
// the default site (sites-available/default) rooted at `dir` on a free loopback port, and
// the pid, logs and temporary files in a folder of its own (the prefix stays Debian's, for
// the modules). Nothing is added for kb: no MIME type, header or Range setting.
// {child, origin}.
export async function startNginx(dir) {
  if (!nginxPath) throw new Error("nginx is not installed (scripts/deps --test installs it)");
  const own = fs.mkdtempSync(path.join(os.tmpdir(), "kb-nginx-"));
  const port = await freePort();
  const site = `server {\n  listen 127.0.0.1:${port} default_server;\n  root ${dir};\n`
             + "  index index.html index.htm index.nginx-debian.html;\n  server_name _;\n"
             + "  location / {\n    try_files $uri $uri/ =404;\n  }\n}\n";
  fs.writeFileSync(path.join(own, "default.conf"), site);
  let conf = fs.readFileSync("/etc/nginx/nginx.conf", "utf8")
    .replace(/^\s*pid\s+[^;]*;/m, `pid ${own}/nginx.pid;`)
    .replace(/^\s*error_log\s+[^;]*;/m, `error_log ${own}/error.log;`)
    .replace(/^(\s*)access_log\s+[^;]*;/m, `$1access_log ${own}/access.log;`)
    .replace(/include\s+\/etc\/nginx\/sites-enabled\/\*;/, `include ${own}/default.conf;`);
  // the test runs as root and its folders are private to it: workers run as the test's user
  conf = conf.replace(/^\s*user\s+[^;]*;/m, process.getuid && process.getuid() === 0 ? "user root;" : "");
  for (const t of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
    conf = conf.replace(/http\s*\{/, `http {\n\t${t}_temp_path ${own}/${t};`);
  fs.writeFileSync(path.join(own, "nginx.conf"), conf);
  const child = spawn(nginxPath, ["-p", "/usr/share/nginx/", "-c", path.join(own, "nginx.conf"), "-g", "daemon off;"],
                      { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  child.once("exit", () => fs.rmSync(own, { recursive: true, force: true }));
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${err}`);
    try { if ((await fetch(origin + "/")).status < 500) return { child, origin }; } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`nginx did not start: ${err}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

// Asks the site's kb-worker.js (started by the page, as kb.js would) each message in turn;
// resolves the answers, body parsed. The page must be on the snapshot. `knobs` is the
// worker's query string (e.g. "?block=4096&ahead=65536", see kb-worker.js).
export async function askWorker(page, base, msgs, knobs = "") {
  return page.evaluate(async ({ base, msgs, knobs }) => {
    const w = new Worker(base + "kb-worker.js" + knobs, { type: "module" });
    const out = [];
    try {
      for (const [i, m] of msgs.entries()) {
        const a = await new Promise((resolve, reject) => {
          w.onmessage = (e) => resolve(e.data);
          w.onerror = (e) => reject(new Error(e.message || "worker error"));
          w.postMessage({ ...m, id: i + 1 });
        });
        out.push({ ...a, body: a.body ? JSON.parse(a.body) : null });
      }
    } finally {
      w.terminate();
    }
    return out;
  }, { base, msgs, knobs });
}

export function tmpDir(name) { return fs.mkdtempSync(path.join(os.tmpdir(), `kb-${name}-`)); }
