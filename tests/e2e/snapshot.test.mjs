// snapshot.test.mjs - the built site copied to a static host answers searches and pasted
// stacks in the browser, with no kb process behind it (issue 6): kb.js finds no server,
// kb-worker.js runs kb.wasm on sqlite-wasm over kb.sqlite fetched with Range requests.
//   1. python3 -m http.server (ignores Range: the worker keeps the whole file): the header's
//      search box, the search page and the paste box find KB2887595 (kb-0001);
//   2. the same on a server that answers Range requests (as nginx does): only some pages of
//      kb.sqlite are fetched;
//   3. the ids, in order, of kb serve's /api/search and /api/match equal the worker's, for
//      full-text queries and stacks from tests/stacks and tests/eval (content/ + eval groups);
//   4. all of it under --base-url /kb/, served from a sub-folder;
//   5. Debian's nginx with its default configuration, under /kb/ (Range requests).
// Figures (bytes, requests, ms of the first answers) go to tests/artifacts/snapshot-report.json.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { root, artifacts, seedPath, launchBrowser, axe, stackOf, hostileIncident } from "./lib.mjs";
import {
  missingForSnapshot, buildSite, startKbServe, stop, makeSnapshot, startPython, startRangeServer, startNginx, nginxPath,
  askWorker, tmpDir,
} from "./snapshot-lib.mjs";

const T = { timeout: 240000 };
const skip = missingForSnapshot() || false;
const KB0001_FILE = path.join(root, "content", "2013-12-22-kb2887595-mslbfoprovider-bugcheck.md");
const report = {
  note: "transfer: kb.sqlite bytes (bodies) and requests one answer cost, ms waiting for them; ms: message to answer; "
    + "warm: the worker's start-up (sqlite-wasm, kb.wasm, opening kb.sqlite), begun when a box gets the focus; "
    + "total: kb.sqlite read so far; page_bytes_received: every response of the page and its worker (headers + bodies)",
  python: {}, range: {}, nginx: {}, subpath: {}, parity: {} };
const cleanup = [];
let browser = null;

before(async () => { if (!skip) browser = await launchBrowser(); });

after(async () => {
  if (browser) await browser.close();
  for (const f of cleanup.reverse()) await f();
  if (skip) return;
  fs.mkdirSync(artifacts, { recursive: true });
  fs.writeFileSync(path.join(artifacts, "snapshot-report.json"), JSON.stringify(report, null, 2) + "\n");
  const line = (k, v, type) => v && v[type] ? `  ${k}: ${v.total.bytes} B of kb.sqlite in ${v.total.requests} requests; `
    + (v.warm ? `start-up ${v.warm.ms} ms (on focus), ` : "") + `answer ${v[type].ms} ms` : null;
  console.log(["kb snapshot figures (tests/artifacts/snapshot-report.json):",
               line("python first search", report.python.first_search, "search"),
               line("python first match", report.python.first_match, "match"),
               line("range first search", report.range.first_search, "search"),
               line("range first match", report.range.first_match, "match"),
               line("nginx first search", report.nginx.first_search, "search"),
               line("nginx first match", report.nginx.first_match, "match")]
    .filter(Boolean).join("\n"));
});

// A snapshot of content/ (+ the hostile incident) under `base`, on python or the Range
// server; kb serve runs only to render the empty search and match pages (see makeSnapshot).
async function snapshot(kind, base = "/") {
  const tmp = tmpDir("snapshot");
  cleanup.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const hostile = path.join(tmp, "hostile.md");
  fs.writeFileSync(hostile, hostileIncident);
  const site = buildSite(tmp, { base, extra: [hostile] });
  const kb = await startKbServe(site, base);
  const www = path.join(tmp, "www");
  try {
    await makeSnapshot(site, www, base, kb.url);
  } finally {
    await stop(kb.child);
  }
  let origin;
  if (kind === "python") {
    const py = await startPython(www);
    cleanup.push(() => stop(py.child));
    origin = py.origin;
  } else if (kind === "nginx") {
    const ng = await startNginx(www);
    cleanup.push(() => stop(ng.child));
    origin = ng.origin;
  } else {
    const rs = await startRangeServer(www);
    cleanup.push(() => stop(rs.child));
    origin = rs.origin;
  }
  return { url: origin + base, site, dbSize: fs.statSync(path.join(site, "kb.sqlite")).size };
}

// A fresh page that records the worker's answers (kb.js's kb:snapshot-answer events),
// script errors, the requests it makes and the bytes it receives.
async function open() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const events = { errors: [], requests: [], bytes: 0 };
  page.on("pageerror", (e) => events.errors.push(String(e)));
  page.on("dialog", (d) => { events.errors.push("dialog: " + d.message()); d.dismiss().catch(() => {}); });
  page.on("request", (r) => events.requests.push(r.method() + " " + r.url()));
  page.on("requestfinished", async (r) => {
    const s = await r.sizes().catch(() => null);
    if (s) events.bytes += s.responseBodySize + s.responseHeadersSize;
  });
  await page.addInitScript(() => {
    window.__kbAnswers = [];
    document.addEventListener("kb:snapshot-answer", (e) => window.__kbAnswers.push(e.detail));
  });
  return { context, page, events };
}
const answers = (page) => page.evaluate(() => window.__kbAnswers);

// The first answer of `type` on a fresh page, with the warm-up before it (kb.js starts the
// worker when a box gets the focus): what it cost, and the index read so far (total).
async function firstAnswer(page, type, events) {
  const a = await answers(page), i = a.findIndex((x) => x.type === type);
  assert.ok(i >= 0, `the worker answered a ${type} (no server behind the snapshot)`);
  const warm = a.slice(0, i).find((x) => x.type === "warm");
  const pick = (x) => x && { ms: x.ms, query_ms: x.query_ms, transfer: x.transfer };
  return { warm: pick(warm) || null, [type]: pick(a[i]), total: a[i].total, page_bytes_received: events.bytes };
}

async function firstResultId(page) {
  await page.locator("#kb-search-out .kb-results > li, #kb-search-out .kb-empty").first().waitFor({ timeout: 60000 });
  return page.locator("#kb-search-out .kb-results > li .meta code").first().textContent();
}

async function paste(page, url, text) {
  await page.goto(url + "match");
  await page.locator("#stack").fill(text);
  await page.locator("#stack").dispatchEvent("paste");
  await page.locator("#kb-match-out .kb-answer, #kb-match-out .kb-none").first().waitFor({ timeout: 60000 });
}

const seedStack = () => (fs.existsSync(seedPath) ? fs.readFileSync(seedPath, "utf8") : stackOf(KB0001_FILE));

// The checks of tests 1, 2 and 4 on one snapshot; the figures go to report[name].
async function searchAndPaste(snap, name) {
  const out = report[name];
  // the header's search box, on the home page of a fresh visit: the first answer
  {
    const { context, page, events } = await open();
    await page.goto(snap.url);
    await page.locator("#kb-q").fill("vmqcGetFirstMappedMNic");
    await page.locator('#kb-suggest[data-q="vmqcGetFirstMappedMNic"]:not([hidden])').waitFor({ timeout: 60000 });
    assert.match(await page.locator("#kb-suggest-list [role=option]").first().textContent(), /KB2887595/);
    out.first_search = { query: "vmqcGetFirstMappedMNic", ...(await firstAnswer(page, "search", events)) };
    assert.ok(!events.requests.some((r) => /\/api\/search/.test(r)), "no /api/search on a static host after the probe");
    assert.deepEqual(events.errors, []);
    await context.close();
  }
  // the search page (Enter in the box goes there), then a filter
  {
    const { context, page, events } = await open();
    await page.goto(snap.url);
    await page.locator("#kb-q").fill("KB2887595");
    await page.locator("#kb-q").press("Enter");
    await page.waitForURL(/search\/?\?q=KB2887595/);
    assert.equal(await firstResultId(page), "kb-0001");
    const href = await page.locator("#kb-search-out .kb-results h2 a").first().getAttribute("href");
    assert.equal(href, new URL(snap.url).pathname + "incidents/kb2887595-mslbfoprovider-bugcheck/");
    await page.goto(snap.url + "search?q=vmqcGetFirstMappedMNic");
    assert.equal(await firstResultId(page), "kb-0001");
    await page.goto(snap.url + "search?q=bugcheck");
    await firstResultId(page);
    const count = Number(await page.locator(".kb-count strong").first().textContent());
    assert.ok(count >= 2, `several results for bugcheck (${count})`);
    const bad = (await axe(page)).filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(bad, [], "search page: serious or critical accessibility violations");
    await page.locator(".kb-facets a", { hasText: "windows" }).first().click();
    await page.waitForURL(/tag=windows/);
    await firstResultId(page);
    assert.match(await page.locator(".kb-count").textContent(), /tagged windows/);
    // hostile text stays text
    await page.goto(snap.url + "search?q=" + encodeURIComponent("hostile <script>"));
    await firstResultId(page);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(events.errors, []);
    await context.close();
  }
  // the paste box, on a fresh visit: the first match
  {
    const { context, page, events } = await open();
    await paste(page, snap.url, seedStack());
    const top = page.locator(".kb-match").first();
    assert.match(await top.locator("h3").textContent(), /KB2887595/);
    assert.equal(await top.locator(".kb-match-meta code").textContent(), "kb-0001");
    assert.ok(await top.locator(".kb-align tr.kb-pair").count() >= 3, "shared frames side by side");
    assert.ok(await page.locator(".kb-query tr.kb-sig").count() >= 1, "the signature frame marked");
    out.first_match = { stack: fs.existsSync(seedPath) ? "seed 000_da45cf2bb8d44c23" : "kb-0001's own",
                        ...(await firstAnswer(page, "match", events)) };
    const bad = (await axe(page)).filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(bad, [], "match answer: serious or critical accessibility violations");
    // a stack typed in the header box goes to the paste box and is matched there
    await page.goto(snap.url);
    await page.locator("#kb-q").fill(stackOf(KB0001_FILE).replace(/\n/g, " "));
    await page.locator("#kb-q").press("Enter");
    await page.locator("#kb-match-out .kb-answer").waitFor({ timeout: 60000 });
    assert.equal(await page.locator(".kb-match .kb-match-meta code").first().textContent(), "kb-0001");
    assert.deepEqual(events.errors, []);
    assert.ok(!events.requests.some((r) => r.startsWith("POST")), "nothing is posted to the static host");
    await context.close();
  }
}

test("snapshot on python3 -m http.server (no Range): search box, search page and paste box find KB2887595",
     { ...T, skip }, async () => {
  const snap = await snapshot("python");
  await searchAndPaste(snap, "python");
  // python sends the whole file for a Range request: one request, the whole index
  assert.equal(report.python.first_search.total.requests, 1);
  assert.equal(report.python.first_search.total.bytes, snap.dbSize);
  report.python.kb_sqlite_bytes = snap.dbSize;
});

test("snapshot on a server with Range requests: only some pages of kb.sqlite are fetched", { ...T, skip }, async () => {
  const snap = await snapshot("range");
  await searchAndPaste(snap, "range");
  const first = report.range.first_search.total;
  assert.ok(first.requests > 1, "the index is read in blocks");
  assert.ok(first.bytes < snap.dbSize, `less than the whole index (${first.bytes} of ${snap.dbSize} bytes)`);
  report.range.kb_sqlite_bytes = snap.dbSize;
});

test("snapshot on nginx with Debian's default configuration, under --base-url /kb/",
     { ...T, skip: skip || (!nginxPath && "nginx is not installed (scripts/deps --test)") }, async () => {
  const snap = await snapshot("nginx", "/kb/");
  await searchAndPaste(snap, "nginx");
  const first = report.nginx.first_search.total;
  assert.ok(first.requests > 1, "nginx answers Range requests: the index is read in blocks");
  assert.ok(first.bytes < snap.dbSize, `less than the whole index (${first.bytes} of ${snap.dbSize} bytes)`);
  report.nginx.kb_sqlite_bytes = snap.dbSize;
});

test("snapshot under --base-url /kb/ from a sub-folder", { ...T, skip }, async () => {
  const snap = await snapshot("python", "/kb/");
  await searchAndPaste(snap, "subpath");
  const { context, page, events } = await open();
  await page.goto(snap.url + "search?q=KB2887595");
  await firstResultId(page);
  const origin = new URL(snap.url).origin;
  // blob: URLs (sqlite-wasm's module, inflated in the worker) are not network requests
  const outside = events.requests.filter((r) => r.includes(origin) && !r.includes(origin + "/kb/") &&
                                               !/favicon/.test(r) && !/ blob:/.test(r));
  assert.deepEqual(outside, [], "every request stays under /kb/");
  await context.close();
});

// Full-text queries and stacks for the parity test (content/ + tests/eval/groups).
const QUERIES = ["KB2887595", "vmqcGetFirstMappedMNic", "GetFirstMapped", "0x0000000A", "IRQL_NOT_LESS_OR_EQUAL",
                 "MsLbfoProvider.sys", "npcap", "spring boot", "NullReferenceException", "zfs panic", "c++", "\"", "bugcheck 0x3B"];
const STACKS = ["tests/eval/groups/seed-kb2887595/q-3.txt", "tests/eval/groups/npcap-7c-wait-event-high-irql-detach/q-1.txt",
                "tests/eval/groups/spring-boot-webserverstartstop-port-in-use/q-1.txt",
                "tests/eval/groups/flask1-jinja2-escape-importerror/q-1.txt",
                "tests/eval/groups/rust-analyzer-nameres-path-resolution-oob/q-1.txt",
                "tests/stacks/windbg/analyze-0xA-w7forums.txt", "tests/stacks/go/nil-deref-sigsegv-zkc.txt",
                "tests/stacks/linux/null-deref-syslog-aquantia.txt", "tests/stacks/dotnet/inner-exception-elmah.txt"];

test("kb serve and the snapshot's worker give the same ids in the same order", { ...T, skip }, async () => {
  const tmp = tmpDir("parity");
  cleanup.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const groups = path.join(root, "tests", "eval", "groups");
  const extra = fs.readdirSync(groups).map((g) => path.join(groups, g, "incident.md")).filter((f) => fs.existsSync(f));
  const site = buildSite(tmp, { extra });
  const kb = await startKbServe(site);
  cleanup.push(() => stop(kb.child));
  const www = path.join(tmp, "www");
  await makeSnapshot(site, www, "/", kb.url);
  const py = await startPython(www);
  cleanup.push(() => stop(py.child));
  const stacks = STACKS.map((f) => path.join(root, f)).filter((f) => fs.existsSync(f));
  assert.ok(stacks.length >= 5, "enough stacks to compare");

  const { context, page } = await open();
  await page.goto(py.origin + "/");
  const msgs = QUERIES.map((q) => ({ type: "search", q, limit: 10 }))
    .concat(stacks.map((f) => ({ type: "match", text: fs.readFileSync(f, "utf8"), limit: 10 })));
  const got = await askWorker(page, py.origin + "/", msgs);
  await context.close();

  const ids = (b) => (b && b.results ? b.results.map((r) => r.id) : null);
  const rows = [];
  for (const [i, m] of msgs.entries()) {
    const a = got[i];
    assert.equal(a.error, undefined, `worker error for ${m.q || stacks[i - QUERIES.length]}: ${a.error}`);
    const res = m.type === "search"
      ? await fetch(`${kb.url}api/search?limit=10&q=${encodeURIComponent(m.q)}`)
      : await fetch(`${kb.url}api/match?limit=10`, { method: "POST", body: m.text, headers: { "Content-Type": "text/plain" } });
    const server = await res.json();
    const what = m.type === "search" ? m.q : path.relative(root, stacks[i - QUERIES.length]);
    rows.push({ type: m.type, what, ids: ids(server), same: JSON.stringify(ids(server)) === JSON.stringify(ids(a.body)),
                transfer: a.transfer, ms: a.ms });
    assert.deepEqual(ids(a.body), ids(server), `${m.type} ${what}: same ids in the same order`);
    if (m.type === "search") assert.equal(a.body.total, server.total, `search ${what}: same total`);
    else {
      assert.deepEqual(a.body.results.map((r) => r.confidence), server.results.map((r) => r.confidence),
                       `${what}: same confidences`);
    }
  }
  assert.ok(rows.some((r) => r.type === "match" && r.ids.length > 0), "some stacks match something");
  report.parity = { incidents: fs.readdirSync(path.join(tmp, "content")).length, compared: rows };
});
