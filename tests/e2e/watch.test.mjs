// watch.test.mjs - `kb serve --watch` in a real browser: an incident page left open
// reloads by itself when its file is saved, and shows the new text; an edit of prose is
// applied in place (the server says so), search finds the new word at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { root, startKbServe, stopServer, launchBrowser } from "./lib.mjs";

const KB0001 = "2013-12-22-kb2887595-mslbfoprovider-bugcheck.md";
const KB0001_URL = "incidents/kb2887595-mslbfoprovider-bugcheck/";
const T = { timeout: 90000 };

let tmp, server, browser, base, stderr = "";

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kb-e2e-watch-"));
  const content = path.join(tmp, "content");
  fs.cpSync(path.join(root, "content"), content, { recursive: true });
  server = await startKbServe(["--watch", "--content", content, "--site", path.join(tmp, "site")],
                              { onStderr: (d) => { stderr += d; }, waitSeconds: 30 });
  base = server.url;
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  await stopServer(server);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test("an open incident page reloads with the saved text; search finds it", T, async () => {
  const page = await browser.newPage();
  await page.goto(base + KB0001_URL);
  await page.waitForTimeout(1200); // kb-live.js has read the first generation
  assert.ok(!(await page.textContent("main")).includes("quokkamist"));
  const file = path.join(tmp, "content", KB0001);
  const saved = Date.now();
  fs.appendFileSync(file, "\nThe quokkamist setting was also changed back.\n");
  await page.waitForFunction(() => document.querySelector("main").textContent.includes("quokkamist"), null,
                             { timeout: 15000 });
  const seconds = (Date.now() - saved) / 1000;
  assert.match(stderr, /updated 1 incident in place/);
  assert.doesNotMatch(stderr, /rebuilt/); // not a full build
  const res = await page.request.get(base + "api/search?q=quokkamist");
  const body = await res.json();
  assert.equal(body.total, 1);
  assert.equal(body.results[0].id, "kb-0001");
  console.log(`saved to reloaded in the browser: ${seconds.toFixed(2)} s (kb-live.js polls once a second)`);
  await page.close();
});
