// The Socket.IO v2 browser client (npm `socket.io-client` 2.x, `dist/socket.io.js` of
// `socket.io-client-v2`) in headless Chromium through playwright-core, over polling only,
// against the test server of tests/common/sio.rs built with `allow_eio3(true)`:
//
//   node tests/clients/v2_browser.mjs --url http://127.0.0.1:PORT [--chromium /usr/bin/chromium]
//
// In a browser the v2 client reads and posts binary polling payloads (Engine.IO v3's
// `application/octet-stream` framing), which it does not in Node. The page (served by a route of
// playwright at the server's origin, so that polling is same-origin) echoes buffers and text
// through `bin`, `bin-ack` and `question-binary`; the run checks that both a GET answer and a
// POST body were binary payloads. Every request leaving 127.0.0.1 is aborted.
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { createRequire } from "node:module";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) fail(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[++i];
}
const url = args.url;
const executablePath = args.chromium ?? "/usr/bin/chromium";
let context = null;
let profile = null;

async function fail(msg) {
  process.stderr.write(`FAIL [v2_browser.mjs]: ${msg?.stack ?? msg}\n`);
  const c = context;
  context = null;
  if (c) await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
  if (profile) rmSync(profile, { recursive: true, force: true });
  process.exit(1);
}
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);
const timer = setTimeout(() => fail("timed out after 30000 ms"), 30000);

if (!url) fail("--url is required");
if (!existsSync(executablePath)) fail(`Chromium is not installed at ${executablePath}`);
const bundle = "node_modules/socket.io-client-v2/dist/socket.io.js";
if (!existsSync(bundle)) fail(`${bundle} is missing (npm ci)`);

const { chromium } = require("playwright-core");
const origin = new URL(url).origin;
profile = mkdtempSync(join(tmpdir(), "tsio-v2-browser-"));
context = await chromium.launchPersistentContext(profile, { executablePath, headless: true });
const page = await context.newPage();
page.setDefaultTimeout(10000);
page.on("pageerror", (e) => fail(`page error: ${e?.stack ?? e}`));
const binary = { get: 0, post: 0, text: 0 };
await page.route("**/*", (route) => {
  const u = new URL(route.request().url());
  if (u.origin !== origin) return route.abort();
  if (u.pathname === "/page") {
    return route.fulfill({ contentType: "text/html", body: "<!doctype html><title>v2</title>" });
  }
  return route.continue();
});
page.on("request", (r) => {
  if (r.method() === "POST" && r.url().includes("/socket.io/") && r.headers()["content-type"] === "application/octet-stream") binary.post++;
});
page.on("response", (r) => {
  if (r.request().method() !== "GET" || !r.url().includes("/socket.io/")) return;
  if (r.headers()["content-type"] === "application/octet-stream") binary.get++;
  else binary.text++;
});
await page.goto(`${origin}/page`);
await page.addScriptTag({ path: bundle });

const result = await page.evaluate(async () => {
  const s = io({ transports: ["polling"], forceNew: true, reconnection: false });
  const problem = (m) => { throw new Error(m); };
  s.on("error", (e) => problem(`error ${JSON.stringify(e)}`));
  await new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", (e) => reject(new Error(`connect_error ${e}`)));
  });
  const hex = (b) => Array.from(new Uint8Array(b instanceof ArrayBuffer ? b : b.buffer)).map((x) => x.toString(16).padStart(2, "0")).join("");
  const all = new Uint8Array(256).map((_, i) => i);
  const echoed = await new Promise((resolve) => {
    s.once("bin", (...a) => resolve(a));
    s.emit("bin", all.buffer, "h\u00e9\u2603\u{1f600}", { nested: [new Uint8Array([1, 2]).buffer] });
  });
  if (hex(echoed[0]) !== hex(all.buffer)) problem(`echo of 256 bytes: ${hex(echoed[0])}`);
  if (echoed[1] !== "h\u00e9\u2603\u{1f600}") problem(`echo of text beside binary: ${echoed[1]}`);
  if (hex(echoed[2].nested[0]) !== "0102") problem(`nested buffer: ${JSON.stringify(echoed[2])}`);
  const acked = await new Promise((resolve) => s.emit("bin-ack", new Uint8Array([255, 0, 4]).buffer, resolve));
  if (hex(acked) !== "ff0004") problem(`bin-ack: ${hex(acked)}`);
  s.on("question-binary", (b, cb) => {
    if (hex(b) !== "010203") problem(`question-binary: ${hex(b)}`);
    cb(new Uint8Array([9, 8, 7]).buffer);
  });
  const answer = await new Promise((resolve) => {
    s.once("answer", resolve);
    s.emit("ask-me-binary");
  });
  if (hex(answer) !== "090807") problem(`answer: ${hex(answer)}`);
  const transport = s.io.engine.transport;
  const out = { id: s.id, transport: transport.name, supportsBinary: transport.supportsBinary };
  s.disconnect();
  return out;
});
if (result.transport !== "polling" || !result.supportsBinary) fail(`not binary polling: ${JSON.stringify(result)}`);
if (binary.get === 0 || binary.post === 0) fail(`no binary payload seen: ${JSON.stringify(binary)}`);
clearTimeout(timer);
const c = context;
context = null;
await c.close();
rmSync(profile, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ ok: true, client: "socket.io-client@2 (browser)", ...result, payloads: binary }) + "\n");
