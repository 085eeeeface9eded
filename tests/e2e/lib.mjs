// lib.mjs - what the browser tests share: a site built from content/ (plus a hostile
// incident) with the built `kb`, `kb serve` on a free port, headless Debian chromium
// driven by playwright-core, axe-core, and the figures the tests measure.
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const artifacts = path.join(root, "tests", "artifacts");
export const kbBinary = process.env.KB_BINARY || path.join(root, "build", "kb");
export const chromiumPath = process.env.KB_CHROMIUM || "/usr/bin/chromium";
export const seedPath = path.resolve(root, "..", "shared", "seeds", "000_da45cf2bb8d44c23.txt");

// Chromium as this machine can run it: no sandbox (root), no GPU, no network of its own.
export const chromiumArgs = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// An incident written to attack the pages: every field and the body carry markup
// that would run script if anything reached the page unescaped or unfiltered.
export const hostileIncident = `---
title: "Hostile <script>window.__pwned='title';alert('title')</script> <img src=x onerror=alert('img')> title"
id: kb-hostile
date: 2024-01-01
tags: ["<svg onload=alert('tag')>", "xss"]
categories: ["<b onmouseover=alert(1)>cat"]
summary: "\\"><script>alert('summary')</script>"
source: "javascript:alert('source')"
---
Raw HTML that must be filtered:

<script>window.__pwned = 'body'; alert('body');</script>
<img src="x" onerror="window.__pwned='onerror'; alert('onerror')">
<a href="javascript:window.__pwned='href'">a javascript: link</a>
<iframe srcdoc="<script>parent.__pwned='iframe'</script>"></iframe>
<svg><script>window.__pwned='svg'</script></svg>
<div style="background:url(javascript:alert(1))" onclick="alert('click')">styled</div>

\`\`\`text
Traceback (most recent call last):
  File "/srv/app/<script>alert('frame')</script>.py", line 3, in <module>
    main()
  File "/srv/app/hostile.py", line 2, in main
    raise ValueError("<img src=x onerror=alert('msg')>")
ValueError: <img src=x onerror=alert('msg')>
\`\`\`
`;

export function stackOf(markdownFile) {
  const text = fs.readFileSync(markdownFile, "utf8");
  const m = text.match(/```text\n([\s\S]*?)```/);
  if (!m) throw new Error(`no stack in ${markdownFile}`);
  return m[1];
}

export function buildSite() {
  if (!fs.existsSync(kbBinary)) throw new Error(`kb binary not found at ${kbBinary}: build first or set KB_BINARY`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kb-e2e-"));
  const content = path.join(tmp, "content"), site = path.join(tmp, "site");
  fs.mkdirSync(content);
  for (const f of fs.readdirSync(path.join(root, "content"))) {
    if (f.endsWith(".md")) fs.copyFileSync(path.join(root, "content", f), path.join(content, f));
  }
  fs.writeFileSync(path.join(content, "2024-01-01-hostile.md"), hostileIncident);
  execFileSync(kbBinary, ["build", "--content", content, "--templates", path.join(root, "templates"), "--out", site],
               { stdio: ["ignore", "ignore", "inherit"] });
  return { tmp, site };
}

// `kb serve ARGS --port 0 --templates ... --log off`: resolves with the URL it prints
// first. onStderr, when given, receives what it writes to stderr (else inherited).
export function startKbServe(args, { onStderr, waitSeconds = 10 } = {}) {
  const child = spawn(kbBinary, ["serve", ...args, "--port", "0", "--templates", path.join(root, "templates"),
                                 "--log", "off"],
                      { stdio: ["ignore", "pipe", onStderr ? "pipe" : "inherit"] });
  if (onStderr) child.stderr.on("data", onStderr);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => { child.kill(); reject(new Error(`kb serve printed no URL in ${waitSeconds} s`)); },
                             waitSeconds * 1000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+?\/)(\s|$)/);
      if (m) { clearTimeout(timer); child.stdout.resume(); resolve({ child, url: m[1] }); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`kb serve exited (${code}) before listening`)); });
  });
}

// `kb serve --no-build` on a built site.
export function startServer(site) { return startKbServe(["--no-build", "--site", site]); }

// SIGTERM, and wait for it to exit. Accepts undefined.
export async function stopServer(server) {
  if (!server) return;
  const exited = new Promise((r) => server.child.once("exit", r));
  server.child.kill("SIGTERM");
  await exited;
}

export async function launchBrowser() {
  if (!fs.existsSync(chromiumPath)) throw new Error(`${chromiumPath} not found: scripts/deps --test installs Debian's chromium`);
  const { chromium } = require("playwright-core");
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

export const axeSource = () => fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

// Runs axe-core in the page (injected through the DevTools protocol, so the page's CSP
// does not apply to it) and returns the violations, most severe first.
export async function axe(page) {
  const injected = await page.evaluate(() => typeof window.axe === "object");
  if (!injected) await page.evaluate(axeSource());
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
                                      targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const order = { critical: 0, serious: 1, moderate: 2, minor: 3 };
  return res.sort((a, b) => (order[a.impact] ?? 9) - (order[b.impact] ?? 9));
}

// Bytes a page load moved over the wire: headers and (compressed) bodies of every response.
export function weighPage(page) {
  const requests = [];
  page.on("requestfinished", (r) => requests.push(r));
  return async () => {
    let bytes = 0;
    const files = [];
    for (const r of requests) {
      const s = await r.sizes();
      const b = s.responseBodySize + s.responseHeadersSize;
      bytes += b;
      files.push({ url: r.url(), bytes: b });
    }
    return { bytes, kb: Math.round(bytes / 102.4) / 10, requests: files.length, files };
  };
}

// What the tests measured, written to tests/artifacts/report.json and printed at the end.
export const report = { pages: {}, search: {}, match: {}, axe: {}, screenshots: {} };

export function screenshotPath(name) {
  fs.mkdirSync(artifacts, { recursive: true });
  return path.join(artifacts, `${name}.png`);
}
