// Drives the Socket.IO Admin UI (npm @socket.io/admin-ui 0.5, served by the server itself under
// /admin-ui/) in headless Chromium through playwright-core, against the chat example
// instrumented for it (feature `admin-ui`):
//
//   node tests/clients/admin_ui.mjs --url http://127.0.0.1:PORT --password PW \
//        [--chromium /usr/bin/chromium] [--screenshot docs/admin-ui.png] [--timeout MS]
//
// Official JS clients (socket.io-client in Node) enter the chat first: alice and bob in room
// `lobby`, carol in room `other`; alice says something to the lobby. Then the page:
// - opens the UI and logs in with a wrong password: the UI shows "Invalid credentials" and its
//   login form again, and is not connected;
// - logs in as admin with the right password: CONNECTED; the dashboard shows the namespaces;
// - the Sockets page lists the three clients' sockets; the Rooms page lists lobby and other;
//   carol's page shows her room `other`; the Events page shows a message alice sends then;
// - (with --screenshot) two more members enter, then a picture of the dashboard;
// - disconnects carol's socket from her page (the socket's disconnect button): carol's client
//   sees `io server disconnect`, and the UI lists two sockets.
// Every request leaving 127.0.0.1 is aborted (the UI's fonts must be local: the icon font must
// be in use), and any page error fails the run.
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { createRequire } from "node:module";
import { existsSync, mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) fail(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[++i];
}
const url = args.url;
const password = args.password;
const executablePath = args.chromium ?? "/usr/bin/chromium";
const timeoutMs = Number(args.timeout ?? 90000);
const STEP_MS = 15000;
let step = "start";
let context = null;
let profile = null;
const clients = [];

function cleanup() {
  for (const c of clients) c.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  profile = null;
}
async function fail(msg) {
  process.stderr.write(`FAIL [admin UI, step ${step}]: ${msg?.stack ?? msg}\n`);
  const c = context;
  context = null;
  if (c) await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
  cleanup();
  process.exit(1);
}
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);
const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);

if (!url || !password) fail("--url and --password are required");
if (!existsSync(executablePath)) {
  fail(`Chromium is not installed at ${executablePath} (Debian: apt-get install chromium; ./scripts/test installs it)`);
}

const { chromium } = require("playwright-core");
const { io } = require("socket.io-client");
const origin = new URL(url).origin;

/// A chat member: connected, in `room`, recording its disconnects.
async function member(name, room) {
  const socket = io(url, { auth: { name }, reconnection: false });
  clients.push(socket);
  socket.disconnects = [];
  socket.on("disconnect", (reason) => socket.disconnects.push(reason));
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  const joined = await socket.timeout(STEP_MS).emitWithAck("join", room);
  assert.equal(joined.room, room);
  return socket;
}

/// Resolves when `socket` disconnects (at once if it has).
function disconnected(socket) {
  if (socket.disconnects.length) return Promise.resolve(socket.disconnects[0]);
  return new Promise((resolve) => socket.once("disconnect", resolve));
}

async function login(page, pw) {
  const dialog = page.locator(".v-dialog--active");
  await dialog.getByLabel("Server URL").fill(origin);
  await dialog.getByLabel("Username").fill("admin");
  await dialog.getByLabel("Password").fill(pw);
  await dialog.getByRole("button", { name: "Connect" }).click();
}

/// The text of the main area, once `predicate` holds for it.
async function mainText(page, what, predicate) {
  let text = "";
  const main = page.locator("main");
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    text = await main.innerText();
    if (predicate(text)) return text;
    if (Date.now() > deadline) throw new Error(`${what}: not seen; the page shows:\n${text}`);
    // Polls the rendered page (the UI renders on its own schedule; nothing to await there).
    await page.waitForTimeout(100);
  }
}

async function main() {
  step = "clients";
  const alice = await member("alice", "lobby");
  const bob = await member("bob", "lobby");
  const carol = await member("carol", "other");
  const heard = new Promise((resolve) => bob.once("message", resolve));
  await alice.timeout(STEP_MS).emitWithAck("message", { room: "lobby", text: "hello lobby" });
  assert.equal((await heard).text, "hello lobby");

  step = "launch";
  profile = mkdtempSync(join(tmpdir(), "tsio-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: STEP_MS * 2,
  });
  const outside = [];
  await context.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(`${origin}/`) || u === origin) return route.continue();
    outside.push(u);
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("pageerror", (e) => fail(`page error: ${e?.stack ?? e}`));

  step = "wrong password";
  await page.goto(`${origin}/admin-ui/`);
  await login(page, "not the password");
  const dialog = page.locator(".v-dialog--active");
  await dialog.getByText("Invalid credentials").waitFor();
  // The login form again, and not connected.
  await dialog.getByLabel("Password").waitFor();
  await dialog.getByRole("button", { name: "Connect" }).waitFor();
  assert.equal(await page.locator("header").getByText(/^connected$/i).filter({ visible: true }).count(), 0, "connected with a wrong password");

  step = "login";
  await login(page, password);
  await page.locator(".v-dialog--active").waitFor({ state: "detached" }).catch(() => {});
  await page.locator("header").getByText(/^connected$/i).filter({ visible: true }).first().waitFor();
  await mainText(page, "3 sockets in / and 1 in /admin on the dashboard", (t) => /^\/\s+3$/m.test(t) && /^\/admin\s+1$/m.test(t));
  const icons = await page.evaluate(async () => {
    await document.fonts.ready;
    return document.fonts.check('24px "Material Design Icons"');
  });
  assert.equal(icons, true, "the icon font is not in use");

  step = "sockets";
  await page.goto(`${origin}/admin-ui/#/sockets/`);
  await mainText(page, "the three chat sockets", (t) => [alice, bob, carol].every((s) => t.includes(s.id)));

  step = "rooms";
  await page.goto(`${origin}/admin-ui/#/rooms/`);
  await mainText(page, "rooms lobby and other", (t) => t.includes("lobby") && t.includes("other"));
  await page.goto(`${origin}/admin-ui/#/n/%2F/rooms/lobby`);
  await mainText(page, "alice and bob in lobby", (t) => t.includes(alice.id) && t.includes(bob.id) && !t.includes(carol.id));

  step = "events";
  // The UI lists the events it heard of while connected.
  const heard2 = new Promise((resolve) => bob.once("message", resolve));
  await alice.timeout(STEP_MS).emitWithAck("message", { room: "lobby", text: "the UI watches" });
  assert.equal((await heard2).text, "the UI watches");
  await page.goto(`${origin}/admin-ui/#/events/`);
  await mainText(page, "alice's message in the events", (t) => t.includes("message") && t.includes(alice.id));

  step = "carol's page";
  await page.goto(`${origin}/admin-ui/#/n/%2F/sockets/${carol.id}`);
  await mainText(page, "carol's room", (t) => t.includes(carol.id) && t.includes("other") && !t.includes("lobby"));

  if (args.screenshot) {
    step = "screenshot";
    // Two more members while the UI watches: its connection chart shows them.
    const dave = await member("dave", "lobby");
    const erin = await member("erin", "other");
    await page.goto(`${origin}/admin-ui/#/sockets/`);
    await mainText(page, "the sockets of dave and erin", (t) => t.includes(dave.id) && t.includes(erin.id));
    await page.goto(`${origin}/admin-ui/#/`);
    await mainText(page, "the dashboard, 5 sockets in /", (t) => /^\/\s+5$/m.test(t));
    // Charts animate in: the picture waits until the servers' donut is drawn.
    await page.locator("canvas").first().waitFor();
    await page.waitForTimeout(1500);
    mkdirSync(dirname(args.screenshot), { recursive: true });
    await page.screenshot({ path: args.screenshot });
    await page.goto(`${origin}/admin-ui/#/n/%2F/sockets/${carol.id}`);
    await mainText(page, "carol's room", (t) => t.includes(carol.id) && t.includes("other"));
  }

  step = "disconnect carol";
  const carolId = carol.id;
  // Her socket's row (the "Socket" table, the one with the creation date; its Status row): the
  // button that disconnects the socket only. (The "Client" table's closes the whole connection.)
  const socketTable = page.locator("main table", { hasText: "Creation date" });
  const socketStatus = socketTable.locator("tr", { hasText: "Status" });
  await socketStatus.locator("button").click();
  assert.equal(await disconnected(carol), "io server disconnect");
  await page.goto(`${origin}/admin-ui/#/sockets/`);
  await mainText(page, "two sockets left", (t) => t.includes(alice.id) && t.includes(bob.id) && !t.includes(carol.id));
  assert.deepEqual([alice.disconnects, bob.disconnects], [[], []]);
  assert.deepEqual(outside.filter((u) => !u.startsWith("data:")), [], "requests left 127.0.0.1");

  clearTimeout(timer);
  await context.close();
  context = null;
  cleanup();
  console.log(JSON.stringify({ ok: true, disconnected: carolId, screenshot: args.screenshot ?? null }));
}

main().catch(fail);
