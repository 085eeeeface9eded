// site.test.mjs - kb's pages in a real browser (headless Debian chromium, playwright-core):
// browsing, search as you type with the keyboard, pasting a stack, no script from hostile
// input, the pages without JavaScript, accessibility (axe-core), phone width, print,
// screenshots of each page type and the figures the issue asks for (tests/artifacts/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  root, artifacts, seedPath, buildSite, startServer, stopServer, launchBrowser, axe, weighPage, report, screenshotPath, stackOf,
} from "./lib.mjs";

const KB0001_FILE = path.join(root, "content", "2013-12-22-kb2887595-mslbfoprovider-bugcheck.md");
const KB0001_URL = "incidents/kb2887595-mslbfoprovider-bugcheck/";
const T = { timeout: 90000 };

let site, server, browser, base;

before(async () => {
  site = buildSite();
  server = await startServer(site.site);
  base = server.url;
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  await stopServer(server);
  if (site) fs.rmSync(site.tmp, { recursive: true, force: true });
  fs.mkdirSync(artifacts, { recursive: true });
  fs.writeFileSync(path.join(artifacts, "report.json"), JSON.stringify(report, null, 2) + "\n");
  const lines = ["kb e2e figures (tests/artifacts/report.json):"];
  for (const [k, v] of Object.entries(report.pages)) lines.push(`  page weight ${k}: ${v.kb} KB in ${v.requests} requests`);
  if (report.search.keystroke_to_result_ms !== undefined)
    lines.push(`  search as you type: keystroke to results ${report.search.keystroke_to_result_ms} ms median of ${report.search.samples}, ` +
               `${report.search.keystroke_to_result_max_ms} ms max (debounce ${report.search.debounce_ms} ms included)`);
  if (report.match.paste_to_result_ms !== undefined) lines.push(`  match: paste to results ${report.match.paste_to_result_ms} ms`);
  for (const [k, v] of Object.entries(report.axe)) lines.push(`  axe ${k}: ${v.length ? v.map((x) => `${x.id} (${x.impact})`).join(", ") : "no violations"}`);
  for (const [k, v] of Object.entries(report.screenshots)) lines.push(`  screenshot ${k}: ${path.relative(root, v)}`);
  console.log(lines.join("\n"));
});

// A page in a fresh context; `events` collects dialogs and page errors (script that ran).
async function open(opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...opts });
  const page = await context.newPage();
  const events = { dialogs: [], errors: [] };
  page.on("dialog", (d) => { events.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on("pageerror", (e) => events.errors.push(String(e)));
  return { context, page, events };
}

async function shot(page, name, full = true) {
  const file = screenshotPath(name);
  await page.screenshot({ path: file, fullPage: full });
  report.screenshots[name] = file;
}

async function checkAxe(page, name) {
  const v = await axe(page);
  report.axe[name] = v;
  const bad = v.filter((x) => x.impact === "serious" || x.impact === "critical");
  assert.deepEqual(bad, [], `${name}: serious or critical accessibility violations`);
}

test("home page to the KB2887595 incident", T, async () => {
  const { context, page } = await open();
  await page.goto(base);
  assert.equal(await page.locator("h1").textContent(), "Incidents");
  await shot(page, "home");
  await page.getByRole("link", { name: /KB2887595/ }).first().click();
  await page.waitForURL(new RegExp(KB0001_URL));
  assert.match(await page.locator("h1").textContent(), /KB2887595/);
  // identifiers link to searches; the stack table marks the signature and skipped frames
  const kbLink = page.locator(".identifiers a", { hasText: "KB2887595" });
  assert.equal(await kbLink.getAttribute("href"), "/search?q=KB2887595");
  assert.ok(await page.locator("table.frames tr.kb-sig").count() >= 1, "a signature frame is marked");
  assert.ok(await page.locator("table.frames tr.kb-skip").count() >= 1, "skipped frames are dimmed");
  assert.ok(await page.locator(".related li").count() >= 1, "related incidents are listed");
  await kbLink.click();
  await page.waitForURL(/\/search\?q=KB2887595/);
  assert.ok(await page.locator(".kb-results a", { hasText: "KB2887595" }).count() >= 1);
  await context.close();
});

test("type a search and pick a result with the keyboard", T, async () => {
  const { context, page, events } = await open();
  await page.goto(base + "tags/");
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement.id), "kb-q", "`/` focuses the search box");
  await page.keyboard.type("mslbfo", { delay: 40 });
  await page.locator('#kb-suggest[data-q="mslbfo"]:not([hidden])').waitFor();
  const first = page.locator("#kb-suggest-list [role=option]").first();
  assert.match(await first.textContent(), /KB2887595/);
  assert.ok(await page.locator("#kb-suggest-list mark").count() >= 1, "hits are highlighted");
  assert.match(await page.locator("#kb-suggest-status").textContent(), /^\d+ results?$/);
  await shot(page, "search-as-you-type", false);
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.locator("#kb-q").getAttribute("aria-activedescendant"), "kb-opt-0");
  await page.keyboard.press("Enter");
  await page.waitForURL(new RegExp(KB0001_URL));
  // Ctrl-K focuses the box from anywhere
  await page.locator("h1").click();
  await page.keyboard.press("Control+k");
  assert.equal(await page.evaluate(() => document.activeElement.id), "kb-q", "Ctrl-K focuses the search box");
  assert.deepEqual(events.errors, []);
  await context.close();
});

// Time from the keystroke that completes a query to its results on screen (debounce,
// fetch of /api/search, render), measured in the page by kb.js (performance.measure).
test("search as you type: keystroke to results", T, async () => {
  const { context, page } = await open();
  await page.goto(base);
  const input = page.locator("#kb-q");
  const samples = [];
  for (const q of ["mslbfo", "bugcheck", "npcap", "KB2887595", "zfs", "panic", "vmqc", "ndis", "spring", "0x7E"]) {
    await input.fill(q.slice(0, -1));
    await page.waitForTimeout(200);
    await page.evaluate(() => performance.clearMeasures("kb-search"));
    await input.press(q.slice(-1) === "E" ? "Shift+E" : q.slice(-1));
    await page.locator(`#kb-suggest[data-q="${q}"]`).waitFor({ state: "attached" });
    samples.push(await page.evaluate(() => performance.getEntriesByName("kb-search").pop().duration));
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const first = await page.evaluate(() => {
    const k = performance.getEntriesByName("kb-first-key")[0], r = performance.getEntriesByName("kb-first-result")[0];
    return r.startTime - k.startTime;
  });
  report.search = {
    debounce_ms: 120, samples: samples.length,
    keystroke_to_result_ms: Math.round(sorted[Math.floor(sorted.length / 2)]),
    keystroke_to_result_max_ms: Math.round(sorted[sorted.length - 1]),
    after_debounce_median_ms: Math.round(sorted[Math.floor(sorted.length / 2)] - 120),
    first_key_to_first_result_ms: Math.round(first),
  };
  assert.ok(sorted[Math.floor(sorted.length / 2)] < 1000, "results within a second of the keystroke");
  await context.close();
});

test("search results page: count, highlights, tag filter", T, async () => {
  const { context, page } = await open();
  await page.goto(base + "search?q=bugcheck");
  const count = Number(await page.locator(".kb-count strong").first().textContent());
  assert.ok(count >= 2, `several results for bugcheck (${count})`);
  assert.equal(await page.locator(".kb-results > li").count(), Math.min(count, 20));
  assert.ok(await page.locator(".kb-results h2 mark").count() >= 1, "hits marked in titles");
  await shot(page, "search");
  const tag = page.locator(".kb-facets a", { hasText: "windows" }).first();
  await tag.click();
  await page.waitForURL(/tag=windows/);
  const filtered = Number(await page.locator(".kb-count strong").first().textContent());
  assert.ok(filtered >= 1 && filtered <= count);
  const cards = page.locator(".kb-results > li");
  for (let i = 0; i < (await cards.count()); i++) {
    assert.ok(await cards.nth(i).locator(".tags a", { hasText: /^windows$/ }).count() === 1, "every result has the tag");
  }
  await context.close();
});

async function pasteAndMatch(page, text) {
  await page.goto(base + "match");
  await page.locator("#stack").fill(text);
  await page.locator("#stack").dispatchEvent("paste");
  await page.locator("#kb-match-out .kb-answer").waitFor();
}

test("paste the incident's stack: KB2887595 first, how the stack was read, frames side by side", T, async () => {
  const { context, page, events } = await open();
  await pasteAndMatch(page, stackOf(KB0001_FILE));
  const top = page.locator(".kb-match").first();
  assert.match(await top.locator("h3").textContent(), /KB2887595/);
  assert.match(await top.locator(".kb-confidence").textContent(), /exact|strong/);
  assert.ok(await top.locator(".kb-align tr.kb-pair").count() >= 3, "shared frames side by side");
  const read = page.locator(".kb-query");
  assert.match(await read.textContent(), /0xA/);
  assert.match(await read.textContent(), /IRQL_NOT_LESS_OR_EQUAL/);
  assert.ok(await read.locator("tr.kb-skip").count() >= 1, "skipped frames dimmed");
  assert.equal(await read.locator("tr.kb-sig").count() >= 1, true, "the signature frame marked");
  const ms = await page.evaluate(() => { const e = performance.getEntriesByName("kb-match"); return e.length ? e[0].duration : null; });
  report.match = { paste_to_result_ms: Math.round(ms) };
  await shot(page, "match");
  assert.deepEqual(events.errors, []);
  await context.close();
});

test("paste the seed's stack (../shared/seeds): KB2887595 first", { ...T, skip: !fs.existsSync(seedPath) && "no ../shared/seeds beside the repository" }, async () => {
  const { context, page } = await open();
  await pasteAndMatch(page, fs.readFileSync(seedPath, "utf8"));
  assert.match(await page.locator(".kb-match h3").first().textContent(), /KB2887595/);
  await context.close();
});

test("a stack nothing matches says so and offers a search of its top frames", T, async () => {
  const { context, page } = await open();
  const stack = "Traceback (most recent call last):\n  File \"/opt/zz/quux.py\", line 9, in <module>\n    frobnicate_widget()\n" +
                "  File \"/opt/zz/quux.py\", line 5, in frobnicate_widget\n    raise KeyError('zz')\nKeyError: 'zz'\n";
  await pasteAndMatch(page, stack);
  assert.match(await page.locator(".kb-none").textContent(), /No incident in the knowledge base matches this stack/);
  assert.ok(await page.locator(".kb-search-links a").count() >= 1, "a full-text search of the top frames is offered");
  assert.match(await page.locator(".kb-search-links a").first().getAttribute("href"), /search\?q=frobnicate_widget/);
  await context.close();
});

test("no script runs from a <script> query or a hostile incident", T, async () => {
  // CSP bypassed on purpose: the escaping alone must hold; the CSP is a second wall.
  const { context, page, events } = await open({ bypassCSP: true });
  const pwned = () => page.evaluate(() => window.__pwned);
  const evil = "<script>window.__pwned='q';alert('q')</script><img src=x onerror=alert('q2')>";
  const res = await page.goto(base + "search?q=" + encodeURIComponent(evil));
  assert.match(res.headers()["content-security-policy"] || "", /default-src 'self'/);
  assert.equal(await pwned(), undefined);
  // live results for a query that finds the hostile incident, whose title holds markup
  await page.locator("#kb-q").fill("");
  await page.locator("#kb-q").type("hostile <script>", { delay: 20 });
  await page.locator('#kb-suggest[data-q="hostile <script>"]:not([hidden])').waitFor();
  assert.match(await page.locator("#kb-suggest-list").textContent(), /<script>/, "markup shown as text");
  await page.locator("#kb-q").press("ArrowDown");
  await page.locator("#kb-q").press("Enter");
  await page.waitForURL(/hostile/);
  await page.waitForLoadState("load");
  await page.mouse.move(200, 400);
  await page.locator("text=styled").hover().catch(() => {});
  assert.equal(await pwned(), undefined);
  const bad = await page.evaluate(() => {
    const out = [];
    for (const s of document.scripts) if (!/\/kb(-live)?\.js$/.test(s.src)) out.push("script " + (s.src || s.textContent.slice(0, 40)));
    for (const e of document.querySelectorAll("*")) {
      for (const a of e.attributes) {
        if (/^on/i.test(a.name)) out.push(`${e.nodeName} ${a.name}`);
        if (/^(href|src|action|formaction)$/i.test(a.name) && /^\s*javascript:/i.test(a.value)) out.push(`${e.nodeName} ${a.name}=javascript:`);
      }
    }
    if (document.querySelector("iframe")) out.push("iframe");
    return out;
  });
  assert.deepEqual(bad, [], "no script, handler or javascript: URL on the hostile incident's page");
  await shot(page, "hostile-incident");
  // the paste box echoes what it was sent
  await page.goto(base + "match");
  await page.locator("#stack").fill("</textarea><script>window.__pwned='match';alert(1)</script>\n at x.y(z.java:1)\n at a.b(c.java:2)");
  await page.locator("#kb-paste button[type=submit]").click();
  await page.locator("#kb-match-out").locator(".kb-answer, .kb-none").first().waitFor();
  assert.equal(await pwned(), undefined);
  assert.deepEqual(events.dialogs, [], "no dialog opened");
  await context.close();
});

test("without JavaScript: search and match are forms the server answers", T, async () => {
  const { context, page } = await open({ javaScriptEnabled: false });
  await page.goto(base);
  await page.locator("#kb-q").fill("KB2887595");
  await page.locator("#kb-q").press("Enter");
  await page.waitForURL(/\/search\?q=KB2887595/);
  assert.match(await page.locator(".kb-results h2 a").first().textContent(), /KB2887595/);
  await page.goto(base + "match");
  await page.locator("#stack").fill(stackOf(KB0001_FILE));
  await Promise.all([page.waitForNavigation(), page.locator("#kb-paste button[type=submit]").click()]);
  assert.match(await page.locator(".kb-match h3").first().textContent(), /KB2887595/);
  assert.ok(await page.locator(".kb-align tr.kb-pair").count() >= 3);
  await shot(page, "match-nojs");
  await context.close();
});

test("every page type: weight, accessibility (light and dark), screenshots", T, async () => {
  const pages = {
    home: "", incident: KB0001_URL, tags: "tags/", tag: "tags/bsod/", category: "categories/windows/",
    search: "search?q=bugcheck", "match-empty": "match", "404": "no/such/page/",
  };
  // weight of a first visit (empty cache): one fresh context per page
  for (const [name, url] of Object.entries(pages)) {
    const { context, page } = await open();
    const weigh = weighPage(page);
    const res = await page.goto(base + url);
    if (name === "404") assert.equal(res.status(), 404);
    report.pages[name] = await weigh();
    await context.close();
  }
  for (const scheme of ["light", "dark"]) {
    const { context, page } = await open({ colorScheme: scheme });
    for (const [name, url] of Object.entries(pages)) {
      await page.goto(base + url);
      await checkAxe(page, `${name} (${scheme})`);
      if (scheme === "light" && ["tag", "404", "tags", "category"].includes(name)) await shot(page, name);
      if (scheme === "dark" && name === "incident") await shot(page, "incident-dark");
    }
    // the answer to a pasted stack, checked too
    await pasteAndMatch(page, stackOf(KB0001_FILE));
    await checkAxe(page, `match-results (${scheme})`);
    await context.close();
  }
  // page weight of the match answer on a first visit: a form posted from a blank page
  const { context, page } = await open();
  const stack = stackOf(KB0001_FILE);
  const weigh = weighPage(page);
  await Promise.all([page.waitForURL(/\/match$/), page.evaluate(({ action, stack }) => {
    const f = document.createElement("form");
    f.method = "post";
    f.action = action;
    const t = document.createElement("textarea");
    t.name = "stack";
    t.value = stack;
    f.appendChild(t);
    document.body.appendChild(f);
    f.submit();
  }, { action: base + "match", stack })]);
  await page.waitForLoadState("load");
  assert.match(await page.locator(".kb-match h3").first().textContent(), /KB2887595/);
  report.pages["match-results"] = await weigh();
  await context.close();
});

test("incident page on a phone (375 px), in print, and its screenshot", T, async () => {
  const { context, page } = await open({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  await page.goto(base + KB0001_URL);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 375, `no sideways scrolling at 375 px (page is ${wide} px wide)`);
  await shot(page, "incident-phone", false);
  await pasteAndMatch(page, stackOf(KB0001_FILE));
  const wide2 = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide2 <= 375, `match page fits 375 px (${wide2} px)`);
  await page.locator(".kb-match").first().scrollIntoViewIfNeeded();
  await shot(page, "match-phone", false);
  await context.close();

  const desk = await open();
  await desk.page.goto(base + KB0001_URL);
  await shot(desk.page, "incident");
  await desk.page.emulateMedia({ media: "print" });
  assert.equal(await desk.page.evaluate(() => getComputedStyle(document.querySelector(".site-header")).display), "none");
  await shot(desk.page, "incident-print");
  await desk.context.close();
});
