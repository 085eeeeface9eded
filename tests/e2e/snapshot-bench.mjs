// snapshot-bench.mjs - what the first answers of a big snapshot cost in the browser: a
// synthetic knowledge base (build/bench/kb-bench-gen, 10,000 incidents by default) built
// with `kb build`, served by a static server that answers Range requests, and for each
// query a fresh browser context asking kb-worker.js once (cold: sqlite-wasm and kb.wasm
// load, kb.sqlite opens, the query runs). Prints and writes
// tests/artifacts/snapshot-bench.json: bytes and requests of kb.sqlite, time to answer.
// Not part of `node --test tests/e2e/` (a 10,000-incident build takes a minute or more):
//   node tests/e2e/snapshot-bench.mjs [--count N] [--configs 4096:65536,16384:262144] [--dir DIR]
//                                     [--server nginx|node]
// The static server: Debian's nginx with its default configuration (the default when
// installed), or tests/e2e/range-server.mjs.
// Each config is the HTTP VFS's block size and read-ahead ceiling (kb-worker.js knobs).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { root, artifacts, kbBinary, launchBrowser } from "./lib.mjs";
import { missingForSnapshot, makeSnapshot, startKbServe, stop, startRangeServer, startNginx, nginxPath, askWorker }
  from "./snapshot-lib.mjs";

const { values: opt } = parseArgs({ options: {
  count: { type: "string", default: "10000" }, configs: { type: "string", default: "" }, dir: { type: "string", default: "" },
  server: { type: "string", default: nginxPath ? "nginx" : "node" } } });
const count = Number(opt.count);
const dir = opt.dir || `/tmp/kb-snapshot-bench-${count}`;
const configs = opt.configs ? opt.configs.split(",") : [""]; // "" = the worker's defaults
const why = missingForSnapshot();
if (why) { console.error(`snapshot-bench: ${why}`); process.exit(2); }

// the corpus and its site, kept in `dir` between runs (same count, same bytes)
const site = path.join(dir, "site"), content = path.join(dir, "content");
if (!fs.existsSync(path.join(site, "kb.sqlite"))) {
  fs.mkdirSync(dir, { recursive: true });
  console.error(`snapshot-bench: generating and building ${count} incidents in ${dir} ...`);
  execFileSync(path.join(root, "build", "bench", "kb-bench-gen"), ["--count", String(count), "--out", content],
               { stdio: "ignore" });
  execFileSync(kbBinary, ["build", "--content", content, "--templates", path.join(root, "templates"), "--out", site],
               { stdio: ["ignore", "ignore", "inherit"] });
}
const www = path.join(dir, "www");
fs.rmSync(www, { recursive: true, force: true });
const kb = await startKbServe(site);
try { await makeSnapshot(site, www, "/", kb.url); } finally { await stop(kb.child); }
// the front-end as it is now (a site kept from an earlier run may predate it)
fs.cpSync(path.join(root, "templates", "static"), www, { recursive: true });
fs.writeFileSync(path.join(www, "blank.html"), "<!doctype html><title>bench</title>");

// queries: words and names of the synthetic corpus, and the first stack of one incident
const one = fs.readFileSync(path.join(content, "000", fs.readdirSync(path.join(content, "000")).sort()[0]), "utf8");
const title = /^title: "(.*)"$/m.exec(one)[1];
const stack = /```text\n([\s\S]*?)```/.exec(one)[1].split("\n").slice(0, 12).join("\n");
const frame = /!(x\w+?)\+/.exec(stack)[1];
const kbId = /KB\d+/.exec(one)[0];
const msgs = [{ type: "search", q: kbId }, { type: "search", q: frame }, { type: "search", q: frame.slice(0, 9) },
              { type: "search", q: "rollback firmware" }, { type: "search", q: title.split(" ").slice(-2).join(" ") },
              { type: "match", text: stack }].map((m) => ({ ...m, limit: 8 }));

const rs = opt.server === "nginx" ? await startNginx(www) : await startRangeServer(www);
const browser = await launchBrowser();
const out = { incidents: count, server: opt.server, kb_sqlite_bytes: fs.statSync(path.join(site, "kb.sqlite")).size,
              assets_bytes: ["sqlite3.js", "sqlite3.wasm", "kb.wasm"]
                .reduce((n, f) => n + fs.statSync(path.join(www, "_kb", "wasm", f)).size, 0),
              note: "each query in a fresh context whose worker was warmed first (sqlite-wasm, kb.wasm, kb.sqlite opened: "
                + "warm_*); bytes/requests/ms: kb.sqlite read for the answer and message to answer",
              runs: [] };
for (const cfg of configs) {
  const [block, ahead] = cfg ? cfg.split(":") : [];
  const knobs = cfg ? `?block=${block}&ahead=${ahead}` : "";
  const row = { config: cfg || "default", answers: [] };
  for (const m of msgs) {
    // a fresh context each time, its worker warmed first as the page does when a box gets
    // the focus (sqlite-wasm and kb.wasm loaded, kb.sqlite opened), then the query
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(rs.origin + "/blank.html");
    const [w, a] = await askWorker(page, rs.origin + "/", [{ type: "warm" }, m], knobs);
    await context.close();
    row.answers.push({ type: m.type, q: m.type === "search" ? m.q : "(stack)", ids: (a.body?.results || []).length,
                       error: a.error, bytes: a.transfer.bytes, requests: a.transfer.requests, ms: a.ms,
                       wait_ms: a.transfer.ms, warm_ms: w.ms, warm_bytes: w.transfer.bytes,
                       warm_requests: w.transfer.requests });
  }
  row.sum = { bytes: row.answers.reduce((n, a) => n + a.bytes, 0), requests: row.answers.reduce((n, a) => n + a.requests, 0) };
  out.runs.push(row);
  const kb = (n) => Math.round(n / 1024) + " KB";
  console.log(`${row.config.padEnd(14)} ` + row.answers.map((a) => `${a.type} ${a.q}: ${kb(a.bytes)}/${a.requests} req/${a.ms} ms`)
    .join(" | ") + ` | sum ${kb(row.sum.bytes)}/${row.sum.requests} req | warm-up ${row.answers.map((a) => a.warm_ms).join("/")} ms`);
}
await browser.close();
await stop(rs.child);
fs.mkdirSync(artifacts, { recursive: true });
fs.writeFileSync(path.join(artifacts, "snapshot-bench.json"), JSON.stringify(out, null, 2) + "\n");
