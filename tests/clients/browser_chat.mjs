// Drives the chat example's page (examples/chat/index.html) in headless Chromium through
// playwright-core, with the official browser client the page loads:
//
//   node tests/clients/browser_chat.mjs --url http://127.0.0.1:PORT \
//        [--chromium /usr/bin/chromium] [--timeout MS]
//
// Two pages enter room `lobby` as alice and bob, a third enters room `other` as carol (fill
// #name and #room, click #enter, wait for #status[data-joined]); alice sends a message (#text,
// #submit); bob sees it in #log, carol sees nothing of it (checked after an announcement to her
// room reached her page, which the server queues after the message). Each message line shows its
// time (a <time> from the server's timestamp) and its sender. Alice then changes room to `other`
// on the same page: lobby messages stop reaching her, `other` hears her, both member lists
// follow, and the page still holds one connection (one WebSocket, the same socket id); then back.
// Bob's connection then drops (his page's `socket.io.engine.close()`, his client told not to
// reconnect by itself until alice has written): alice's page says he lost it, not that he left;
// back, his page is recovered: it shows alice's message sent meanwhile once, is still in the
// lobby with the same members, and alice's page says he is back, with no second "joined".
// A fifth page, 375 px wide (a phone), enters the lobby as erin: the lobby's member lists gain and
// then lose her, and nothing on it overflows horizontally, even with a long unbroken message.
// The pages must load the client from the server itself (/vendor/socket.io.min.js): every
// request leaving 127.0.0.1 is aborted, and any console error or page error fails the run. No
// screenshots.
//
// Chromium: the system's (Debian package `chromium`), headless, with a fresh temporary profile.
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { createRequire } from "node:module";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) fail(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[++i];
}
const url = args.url;
const executablePath = args.chromium ?? "/usr/bin/chromium";
const timeoutMs = Number(args.timeout ?? 60000);
const STEP_MS = 10000;
let step = "start";
let context = null;
let profile = null;

function cleanup() {
  if (profile) rmSync(profile, { recursive: true, force: true });
  profile = null;
}
async function fail(msg) {
  process.stderr.write(`FAIL [browser chat, step ${step}]: ${msg?.stack ?? msg}\n`);
  const c = context;
  context = null;
  // Closing the browser must not hang the failure.
  if (c) await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
  cleanup();
  process.exit(1);
}
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);
const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);

if (!url) fail("--url is required");
if (!existsSync(executablePath)) {
  fail(`Chromium is not installed at ${executablePath} (Debian: apt-get install chromium; ./scripts/test installs it)`);
}

// The example serves the browser client from node_modules beside the crate (the repository
// root, the working directory); without it the page would need the CDN, which this test refuses.
if (!existsSync("node_modules/socket.io-client/dist/socket.io.min.js")) {
  fail("node_modules/socket.io-client is not installed in the repository root (npm ci): the chat page needs it");
}

const { chromium } = require("playwright-core");
const origin = new URL(url).origin;

async function enter(name, room, viewport) {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  if (viewport) await page.setViewportSize(viewport);
  page.on("pageerror", (e) => fail(`${name}'s page: ${e?.stack ?? e}`));
  page.on("console", (m) => {
    if (m.type() === "error") fail(`${name}'s page console: ${m.text()}`);
  });
  await page.goto(url);
  await page.fill("#name", name);
  await page.fill("#room", room);
  await page.click("#enter");
  await page.waitForSelector(`#status[data-joined="${room}"]`);
  // The page's client upgrades to WebSocket (the page's `socket` is a global binding).
  await page.waitForFunction(() => socket?.io?.engine?.transport?.name === "websocket");
  return page;
}

/// The texts of the page's log lines, without their times.
const lines = (page) => page.$$eval("#log p .body", (ps) => ps.map((p) => p.textContent));

/// Waits until the page's log has a line equal to `text` (without its time).
async function seen(page, text) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll("#log p .body")].some((p) => p.textContent === t),
    text,
    { timeout: STEP_MS },
  );
}

/// Waits until the page's member list is `names`.
async function membersAre(page, names) {
  await page.waitForFunction(
    (n) => JSON.stringify([...document.querySelectorAll("#members li")].map((li) => li.textContent)) === n,
    JSON.stringify(names),
    { timeout: STEP_MS },
  );
}

/// The page's message lines: sender, text, time shown and its `datetime`.
const messages = (page) =>
  page.$$eval("#log p.msg, #log p.mine", (ps) =>
    ps.map((p) => ({
      from: p.querySelector(".from")?.textContent,
      body: p.querySelector(".body")?.textContent,
      time: p.querySelector("time")?.textContent,
      datetime: p.querySelector("time")?.dateTime,
    })),
  );

/// How many WebSockets the page opened, and its socket's id.
const connection = (page) => page.evaluate(() => ({ websockets: window.__websockets, id: socket.id }));

/// Changes room on the page as a user does (the room field, then Enter).
async function changeRoom(page, room) {
  await page.fill("#room", room);
  await page.click("#enter");
  await page.waitForSelector(`#status[data-joined="${room}"]`);
}

async function announce(room, text) {
  const res = await fetch(`${origin}/api/rooms/${encodeURIComponent(room)}/announce`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text }),
  });
  assert.equal(res.status, 202, `announce to ${room}`);
  return (await res.json()).recipients;
}

async function main() {
  step = "launch";
  profile = mkdtempSync(join(tmpdir(), "tsio-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: STEP_MS * 3,
  });
  // Nothing leaves 127.0.0.1: the client must come from the server itself.
  const outside = [];
  await context.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(`${origin}/`) || u === origin) return route.continue();
    outside.push(u);
    return route.abort();
  });
  // Counts the WebSockets each page opens.
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    window.__websockets = 0;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        window.__websockets++;
      }
    };
  });

  step = "enter";
  const alice = await enter("alice", "lobby");
  const scripts = await alice.$$eval("script[src]", (s) => s.map((e) => e.getAttribute("src")));
  assert.deepEqual(scripts, ["/vendor/socket.io.min.js"], "the page loads the client from the server");
  const bob = await enter("bob", "lobby");
  const carol = await enter("carol", "other");
  assert.equal(await bob.textContent("#status"), "in lobby with alice, bob");
  assert.equal(await carol.textContent("#status"), "in other with carol");
  await seen(alice, "bob joined lobby");

  step = "message";
  const text = "hello from alice <i>in</i> the browser";
  await alice.fill("#text", text);
  await alice.click("#submit");
  await seen(bob, `alice: ${text}`);
  await seen(alice, `me: ${text}`);
  assert.equal(await alice.inputValue("#text"), "", "the input is cleared after sending");

  step = "other room";
  // Queued after alice's message (it was acknowledged): once carol's page shows it, anything
  // of the lobby's would have shown before.
  assert.equal(await announce("other", "carol, are you there?"), 1);
  await seen(carol, "server: carol, are you there?");
  assert.deepEqual(await lines(carol), ["server: carol, are you there?"], "carol's log");
  assert.equal(await announce("lobby", "sync"), 2);
  await seen(alice, "server: sync");
  await seen(bob, "server: sync");
  assert.deepEqual(await lines(alice), ["bob joined lobby", `me: ${text}`, "server: sync"], "alice's log");
  assert.deepEqual(await lines(bob), [`alice: ${text}`, "server: sync"], "bob's log");

  step = "time and sender";
  const now = Date.now();
  for (const [page, from] of [[bob, "alice"], [alice, "me"]]) {
    const [first] = (await messages(page)).filter((m) => m.from === from);
    assert.ok(first, `a message from ${from} on the page`);
    assert.equal(first.body, `${from}: ${text}`);
    assert.match(first.time, /\d/, `the time shown: ${first.time}`);
    assert.ok(Math.abs(Date.parse(first.datetime) - now) < 120000, `the message's time: ${first.datetime}`);
  }

  step = "members";
  await membersAre(alice, ["alice", "bob"]);
  await membersAre(bob, ["alice", "bob"]);
  await membersAre(carol, ["carol"]);

  step = "change room";
  const before = await connection(alice);
  assert.equal(before.websockets, 1, "alice's page opened one WebSocket");
  await changeRoom(alice, "other");
  assert.equal(await alice.textContent("#status"), "in other with alice, carol");
  await membersAre(alice, ["alice", "carol"]);
  await seen(carol, "alice joined other");
  await membersAre(carol, ["alice", "carol"]);
  await seen(bob, "alice left lobby");
  await membersAre(bob, ["bob"]);
  // The lobby no longer reaches alice: bob's message (acknowledged, so queued before the
  // announcement that follows) is not on her page when the announcement to `other` is.
  await bob.fill("#text", "anyone still here?");
  await bob.click("#submit");
  await seen(bob, "me: anyone still here?");
  assert.equal(await announce("other", "after the change"), 2);
  await seen(alice, "server: after the change");
  assert.ok(!(await lines(alice)).some((l) => l.includes("anyone still here?")), "alice got the lobby's message after leaving it");
  // The new room hears her.
  await alice.fill("#text", "hi carol");
  await alice.click("#submit");
  await seen(carol, "alice: hi carol");
  // And back to the lobby, still on the same connection.
  await changeRoom(alice, "lobby");
  await seen(bob, "alice joined lobby");
  await membersAre(bob, ["alice", "bob"]);
  await membersAre(alice, ["alice", "bob"]);
  await seen(carol, "alice left other");
  await membersAre(carol, ["carol"]);
  assert.deepEqual(await connection(alice), before, "alice's page kept its one connection");
  assert.equal(await announce("lobby", "back"), 2, "the lobby counts alice once");

  step = "recovery";
  await bob.evaluate(() => {
    socket.io.reconnection(false);
    socket.io.engine.close();
  });
  await seen(alice, "bob lost their connection");
  await alice.fill("#text", "did you get this, bob?");
  await alice.click("#submit");
  await seen(alice, "me: did you get this, bob?");
  await bob.evaluate(() => {
    socket.io.reconnection(true);
    socket.connect();
  });
  await seen(alice, "bob is back");
  await seen(bob, "alice: did you get this, bob?");
  await bob.waitForFunction(() => socket.connected && document.getElementById("status").textContent === "in lobby with alice, bob");
  assert.equal(await bob.evaluate(() => socket.recovered), true, "bob's socket recovered");
  await membersAre(alice, ["alice", "bob"]);
  await membersAre(bob, ["alice", "bob"]);
  assert.equal(await announce("lobby", "after the drop"), 2);
  await seen(alice, "server: after the drop");
  await seen(bob, "server: after the drop");
  const count = (all, l) => all.filter((x) => x === l).length;
  assert.equal(count(await lines(bob), "alice: did you get this, bob?"), 1, "bob got the missed message once");
  assert.equal(count(await lines(alice), "bob joined lobby"), 1, "alice saw bob join once");
  assert.equal(count(await lines(bob), "you moved to lobby"), 0, "bob's page did not switch again");
  const tail = (await lines(bob)).slice(-2);
  assert.deepEqual(tail, ["alice: did you get this, bob?", "server: after the drop"], "bob's log ends in order");

  step = "phone";
  const erin = await enter("erin", "lobby", { width: 375, height: 720 });
  await membersAre(alice, ["alice", "bob", "erin"]);
  await membersAre(bob, ["alice", "bob", "erin"]);
  await erin.fill("#text", `a long word: ${"x".repeat(120)}`);
  await erin.click("#submit");
  await seen(alice, `erin: a long word: ${"x".repeat(120)}`);
  await seen(erin, `me: a long word: ${"x".repeat(120)}`);
  const width = await erin.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
  }));
  assert.equal(width.inner, 375, "the phone page's width");
  assert.ok(width.scroll <= width.inner, `the phone page overflows: ${JSON.stringify(width)}`);
  await erin.close();
  await seen(alice, "erin left lobby");
  await membersAre(alice, ["alice", "bob"]);
  await membersAre(bob, ["alice", "bob"]);

  step = "leave";
  await bob.close();
  await seen(alice, "bob left lobby");
  await membersAre(alice, ["alice"]);
  assert.deepEqual(outside, [], "requests outside 127.0.0.1");

  step = "close";
  clearTimeout(timer);
  const c = context;
  context = null;
  await c.close();
  cleanup();
  process.stdout.write(JSON.stringify({ ok: true, client: "socket.io-client (browser)", scenario: "browser_chat" }) + "\n");
  process.exit(0);
}

main().catch(fail);
