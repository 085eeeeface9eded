// range-server.mjs - a static file server that answers single Range requests (206 with
// Content-Range, ETag), as nginx does by default and python3 -m http.server does not;
// folders redirect to their slash and serve index.html. Run by snapshot-lib.mjs in a
// process of its own (so the test process's own work does not delay its answers):
//   node tests/e2e/range-server.mjs DIR     prints "listening on http://127.0.0.1:PORT/"
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

const dir = path.resolve(process.argv[2] || ".");
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
                ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json", ".xml": "application/xml" };

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  let file = path.join(dir, decodeURIComponent(url.pathname));
  if (!file.startsWith(dir)) { res.writeHead(403).end(); return; }
  let st = fs.existsSync(file) ? fs.statSync(file) : null;
  if (st && st.isDirectory()) {
    if (!url.pathname.endsWith("/")) { res.writeHead(301, { Location: url.pathname + "/" + url.search }).end(); return; }
    file = path.join(file, "index.html");
    st = fs.existsSync(file) ? fs.statSync(file) : null;
  }
  if (!st || !st.isFile()) { res.writeHead(404, { "Content-Type": "text/html" }).end("<h1>404</h1>"); return; }
  if (req.method !== "GET" && req.method !== "HEAD") { res.writeHead(405, { Allow: "GET, HEAD" }).end(); return; }
  const headers = { "Content-Type": TYPES[path.extname(file)] || "application/octet-stream",
                    "Accept-Ranges": "bytes", ETag: `"${st.size}-${Math.round(st.mtimeMs)}"` };
  let start = 0, end = st.size - 1, status = 200;
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || "");
  if (m) {
    start = Number(m[1]);
    end = m[2] ? Math.min(Number(m[2]), st.size - 1) : st.size - 1;
    if (start >= st.size) { res.writeHead(416, { "Content-Range": `bytes */${st.size}` }).end(); return; }
    status = 206;
    headers["Content-Range"] = `bytes ${start}-${end}/${st.size}`;
  }
  headers["Content-Length"] = end - start + 1;
  res.writeHead(status, headers);
  if (req.method === "HEAD") res.end();
  else fs.createReadStream(file, { start, end }).pipe(res);
});
server.listen(0, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${server.address().port}/`));
process.on("SIGTERM", () => process.exit(0));
