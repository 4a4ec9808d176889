// Checks the whole contract of the chat example (examples/chat/main.rs, see its top comment) with
// the official `socket.io-client`, against a running example:
//
//   node tests/clients/chat_client.mjs --url http://127.0.0.1:PORT [--timeout MS] [--scenario expiry]
//
// With `--scenario expiry` (against a chat whose recovery window, RECOVERY_SECS, is short), it
// checks only that a member whose connection dropped and who is not back within the window is
// told to their rooms as `user left` once it has passed, and comes back as a new member.
//
// - auth: no auth object, `{}` and `{ name: "" }` are refused with a connect_error whose message
//   mentions "name";
// - `join` answers `{ room, members }` (names, sorted); the other members get `user joined`;
// - `message` reaches the other members of the room only (never the sender, never another room)
//   as `{ room, from, text, at }` (`at`: a number of ms since the epoch); its ack is `{ ok: true }`;
// - `leave` answers `{ ok: true }`; the other members get `user left`, and the leaver no longer
//   gets the room's messages;
// - `switch` room leaves every other room (their members get `user left`, and the switcher no
//   longer gets their messages) and joins the room (its members get `user joined`), answering
//   `{ room, members }`; switching to the room one is in changes nothing;
// - a member who disconnects: each of their rooms gets `user left`;
// - a member whose connection drops (`socket.io.engine.close()`): their rooms get `user away`;
//   messages sent meanwhile are the member's, once, in order, before `connect` when they come
//   back (recovered: the same id, still in their rooms, nothing to join again); their rooms get
//   `user back` and no `user joined`; the REST API counted them as members all along;
// - `GET /api/rooms`: `[{ name, members }]` sorted by name, without the sockets' own rooms;
// - `POST /api/rooms/{room}/announce { text }`: 202 `{ recipients }`, and the members get
//   `message` from "server";
// - `GET /` is the page, and loads the client from `/vendor/socket.io.min.js` (served from
//   node_modules) when node_modules/socket.io-client is installed in the working directory (the
//   repository root, beside the crate); without it, the page loads no client at all (it then
//   explains how to install it); `GET /favicon.ico` answers 200 with an image.
//
// Every client records every event it receives, in order; checks take them one at a time, so an
// unexpected event fails the run. "Nothing else arrived" is made exact by a sync point: an
// announcement to the room, which the server queues after everything the previous step sent (a
// step's ack comes after its broadcasts are queued), so each member's next event must be it.
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import assert from "node:assert/strict";

// CommonJS resolution, so that NODE_PATH works too when node_modules is elsewhere.
const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) fail(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[++i];
}
const url = args.url;
if (!url) fail("--url is required");
const timeoutMs = Number(args.timeout ?? 30000);
const STEP_MS = 5000;
const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
const opened = [];
let step = "start";

function fail(msg) {
  process.stderr.write(`FAIL [chat, step ${step}]: ${msg?.stack ?? msg}\n`);
  process.exit(1);
}
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);

/// One chat member: a socket and the events it received, in order.
class Member {
  constructor(name, socket) {
    this.name = name;
    this.socket = socket;
    this.queue = [];
    this.wake = null;
    this.leaving = false;
    socket.onAny((event, ...data) => {
      this.queue.push({ event, data });
      this.wake?.();
    });
    socket.on("disconnect", (reason) => {
      if (!this.leaving) fail(`${name} disconnected: ${reason}`);
    });
  }

  /// The next event received, within STEP_MS.
  async next(what) {
    const deadline = Date.now() + STEP_MS;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no event within ${STEP_MS} ms, expected ${what}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
    return this.queue.shift();
  }

  /// The next event must be `event` with one argument equal to `expected` (`at` checked apart),
  /// then its offset (connection state recovery is on: every event the server stores for a
  /// recovery carries it as its last argument, a string).
  async expect(event, expected) {
    const got = await this.next(`${event} ${JSON.stringify(expected)}`);
    assert.equal(got.event, event, `${this.name}: expected ${event} ${JSON.stringify(expected)}, got ${got.event} ${JSON.stringify(got.data)}`);
    assert.equal(got.data.length, 2, `${this.name}: ${event} should carry one argument and its offset: ${JSON.stringify(got.data)}`);
    assert.equal(typeof got.data[1], "string", `${this.name}: ${event}'s offset: ${JSON.stringify(got.data)}`);
    const value = { ...got.data[0] };
    if (event === "message") {
      assert.equal(typeof value.at, "number", `${this.name}: message.at should be a number: ${JSON.stringify(value)}`);
      assert.ok(Number.isInteger(value.at) && Math.abs(value.at - Date.now()) < 60_000, `${this.name}: message.at should be ms since the epoch, now: ${JSON.stringify(value)}`);
      delete value.at;
    }
    assert.deepEqual(value, expected, `${this.name}: ${event}`);
    return value;
  }

  /// Asks with an acknowledgement.
  ask(event, data) {
    return this.socket.timeout(STEP_MS).emitWithAck(event, data);
  }

  close() {
    this.leaving = true;
    this.socket.disconnect();
  }
}

/// A socket that completes the handshake for `auth`, or the connect_error.
function open(auth) {
  const opts = { forceNew: true, reconnection: false, timeout: STEP_MS };
  if (auth !== undefined) opts.auth = auth;
  const socket = io(url, opts);
  opened.push(socket);
  return new Promise((resolve) => {
    socket.once("connect", () => resolve({ socket }));
    socket.once("connect_error", (error) => resolve({ socket, error }));
  });
}

async function member(name) {
  const { socket, error } = await open({ name });
  if (error) throw new Error(`${name} refused: ${error.message}`);
  return new Member(name, socket);
}

async function refused(label, auth) {
  const { socket, error } = await open(auth);
  assert.ok(error, `${label}: the connection should be refused`);
  assert.match(String(error.message), /name/, `${label}: connect_error should mention the name: ${error.message}`);
  assert.equal(socket.connected, false, `${label}: socket connected`);
  socket.disconnect();
}

async function join(m, room, members) {
  assert.deepEqual(await m.ask("join", room), { room, members }, `${m.name} join ${room}`);
}

async function leave(m, room) {
  assert.deepEqual(await m.ask("leave", room), { ok: true }, `${m.name} leave ${room}`);
}

async function say(m, room, text) {
  assert.deepEqual(await m.ask("message", { room, text }), { ok: true }, `${m.name} message`);
}

async function http(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(new URL(path, url), init);
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type") ?? "", text };
}

async function rooms(expected) {
  const res = await http("GET", "/api/rooms");
  assert.equal(res.status, 200, `GET /api/rooms: ${res.text}`);
  assert.deepEqual(JSON.parse(res.text), expected, "GET /api/rooms");
}

async function announce(room, text, recipients) {
  const res = await http("POST", `/api/rooms/${encodeURIComponent(room)}/announce`, { text });
  assert.equal(res.status, 202, `announce to ${room}: ${res.status} ${res.text}`);
  assert.deepEqual(JSON.parse(res.text), { recipients }, `announce to ${room}`);
}

let syncs = 0;
/// Announces to `room`; each of `members` must get it as its very next event.
async function sync(room, members) {
  const text = `sync ${++syncs}`;
  await announce(room, text, members.length);
  for (const m of members) await m.expect("message", { room, from: "server", text });
}

function idle(...members) {
  for (const m of members) assert.deepEqual(m.queue, [], `${m.name} got unexpected events`);
}

async function expiry() {
  step = "expiry";
  const mia = await member("mia");
  const ada = await member("ada");
  await join(mia, "lobby", ["mia"]);
  await join(ada, "lobby", ["ada", "mia"]);
  await mia.expect("user joined", { room: "lobby", name: "ada" });
  const adaId = ada.socket.id;
  ada.leaving = true;
  const dropped = new Promise((r) => ada.socket.once("disconnect", r));
  ada.socket.io.engine.close();
  assert.equal(await dropped, "forced close", "ada's disconnect reason");
  await mia.expect("user away", { room: "lobby", name: "ada" });
  await rooms([{ name: "lobby", members: 2 }]);
  // The window passes: she left.
  await mia.expect("user left", { room: "lobby", name: "ada" });
  await rooms([{ name: "lobby", members: 1 }]);
  await say(mia, "lobby", "too late");
  // Back later: a new member, who joins again.
  const back = new Promise((resolve, reject) => {
    ada.socket.once("connect", resolve);
    ada.socket.once("connect_error", reject);
  });
  ada.socket.connect();
  await back;
  ada.leaving = false;
  assert.equal(ada.socket.recovered, false, "ada recovered after the window");
  assert.notEqual(ada.socket.id, adaId, "ada's id after the window");
  await join(ada, "lobby", ["ada", "mia"]);
  await mia.expect("user joined", { room: "lobby", name: "ada" });
  await sync("lobby", [mia, ada]);
  idle(mia, ada);
  clearTimeout(timer);
  process.stdout.write(JSON.stringify({ ok: true, client: "socket.io-client", scenario: "chat expiry" }) + "\n");
  process.exit(0);
}

async function main() {
  if (args.scenario === "expiry") return expiry();
  step = "refusals";
  await refused("no auth", undefined);
  await refused("auth {}", {});
  await refused('auth { name: "" }', { name: "" });

  // Names out of join order, to see the members sorted.
  step = "join";
  const mia = await member("mia");
  const ada = await member("ada");
  const zed = await member("zed");
  const bo = await member("bo");
  await rooms([]);
  await join(mia, "lobby", ["mia"]);
  await join(ada, "lobby", ["ada", "mia"]);
  await mia.expect("user joined", { room: "lobby", name: "ada" });
  await join(zed, "other", ["zed"]);
  await join(bo, "other", ["bo", "zed"]);
  await zed.expect("user joined", { room: "other", name: "bo" });
  await sync("lobby", [mia, ada]);
  await sync("other", [zed, bo]);
  await rooms([{ name: "lobby", members: 2 }, { name: "other", members: 2 }]);

  step = "message";
  const text = "hello, lobby 👋 <b>&</b>";
  await say(mia, "lobby", text);
  await ada.expect("message", { room: "lobby", from: "mia", text });
  // The sender does not get its own message; the other room gets nothing.
  await sync("lobby", [mia, ada]);
  await sync("other", [zed, bo]);
  await say(bo, "other", "psst");
  await zed.expect("message", { room: "other", from: "bo", text: "psst" });
  await sync("other", [zed, bo]);
  await sync("lobby", [mia, ada]);

  step = "announce";
  await announce("lobby", "welcome", 2);
  await mia.expect("message", { room: "lobby", from: "server", text: "welcome" });
  await ada.expect("message", { room: "lobby", from: "server", text: "welcome" });
  await sync("other", [zed, bo]);
  await announce("nobody-here", "echo?", 0);
  await rooms([{ name: "lobby", members: 2 }, { name: "other", members: 2 }]);

  step = "leave";
  await leave(ada, "lobby");
  await mia.expect("user left", { room: "lobby", name: "ada" });
  await rooms([{ name: "lobby", members: 1 }, { name: "other", members: 2 }]);
  await say(mia, "lobby", "ada is gone");
  await sync("lobby", [mia]);
  // ada gets nothing more from the lobby: her next event, once in `other`, is that room's.
  await join(ada, "other", ["ada", "bo", "zed"]);
  await zed.expect("user joined", { room: "other", name: "ada" });
  await bo.expect("user joined", { room: "other", name: "ada" });
  await sync("other", [zed, bo, ada]);
  await sync("lobby", [mia]);
  idle(mia, ada, zed, bo);

  step = "switch";
  // bo moves from `other` to `lobby` on the same connection.
  assert.deepEqual(await bo.ask("switch", "lobby"), { room: "lobby", members: ["bo", "mia"] }, "bo switch lobby");
  await zed.expect("user left", { room: "other", name: "bo" });
  await ada.expect("user left", { room: "other", name: "bo" });
  await mia.expect("user joined", { room: "lobby", name: "bo" });
  await sync("other", [zed, ada]);
  await sync("lobby", [mia, bo]);
  await rooms([{ name: "lobby", members: 2 }, { name: "other", members: 2 }]);
  // `other` no longer reaches bo: his next event is the lobby's.
  await say(zed, "other", "bo moved");
  await ada.expect("message", { room: "other", from: "zed", text: "bo moved" });
  await sync("other", [zed, ada]);
  await sync("lobby", [mia, bo]);
  // Into the room one is in: the same answer, nobody told.
  assert.deepEqual(await bo.ask("switch", "lobby"), { room: "lobby", members: ["bo", "mia"] }, "bo switch lobby again");
  await sync("lobby", [mia, bo]);
  await sync("other", [zed, ada]);
  // And back, for the next step.
  assert.deepEqual(await bo.ask("switch", "other"), { room: "other", members: ["ada", "bo", "zed"] }, "bo switch other");
  await mia.expect("user left", { room: "lobby", name: "bo" });
  await zed.expect("user joined", { room: "other", name: "bo" });
  await ada.expect("user joined", { room: "other", name: "bo" });
  await sync("lobby", [mia]);
  await sync("other", [zed, ada, bo]);
  await rooms([{ name: "lobby", members: 1 }, { name: "other", members: 3 }]);
  idle(mia, ada, zed, bo);

  step = "recovery";
  // ada, a reader of `other` (with zed and bo), loses her connection.
  const adaId = ada.socket.id;
  ada.leaving = true;
  const dropped = new Promise((r) => ada.socket.once("disconnect", r));
  ada.socket.io.engine.close();
  assert.equal(await dropped, "forced close", "ada's disconnect reason");
  // The server saw the drop: nobody is told she left.
  await zed.expect("user away", { room: "other", name: "ada" });
  await bo.expect("user away", { room: "other", name: "ada" });
  await rooms([{ name: "lobby", members: 1 }, { name: "other", members: 3 }]);
  const missed = ["are you there?", "she'll see this", "and this, third"];
  await say(zed, "other", missed[0]);
  await bo.expect("message", { room: "other", from: "zed", text: missed[0] });
  await say(bo, "other", missed[1]);
  await zed.expect("message", { room: "other", from: "bo", text: missed[1] });
  await say(zed, "other", missed[2]);
  await bo.expect("message", { room: "other", from: "zed", text: missed[2] });
  await sync("other", [zed, bo]);
  // Back: recovered, with what she missed before her `connect`.
  const back = new Promise((resolve, reject) => {
    ada.socket.once("connect", () => resolve([...ada.queue]));
    ada.socket.once("connect_error", reject);
  });
  ada.socket.connect();
  const beforeConnect = await back;
  ada.leaving = false;
  assert.equal(ada.socket.recovered, true, "ada recovered");
  assert.equal(ada.socket.id, adaId, "ada's id kept");
  assert.equal(beforeConnect.length, 4, `ada's missed events before connect: ${JSON.stringify(beforeConnect)}`);
  await ada.expect("message", { room: "other", from: "zed", text: missed[0] });
  await ada.expect("message", { room: "other", from: "bo", text: missed[1] });
  await ada.expect("message", { room: "other", from: "zed", text: missed[2] });
  await ada.expect("message", { room: "other", from: "server", text: `sync ${syncs}` });
  // The others learn she is back; she is still in `other`, and joined nothing.
  await zed.expect("user back", { room: "other", name: "ada" });
  await bo.expect("user back", { room: "other", name: "ada" });
  await say(bo, "other", "welcome back");
  await zed.expect("message", { room: "other", from: "bo", text: "welcome back" });
  await ada.expect("message", { room: "other", from: "bo", text: "welcome back" });
  await sync("other", [zed, bo, ada]);
  await sync("lobby", [mia]);
  await rooms([{ name: "lobby", members: 1 }, { name: "other", members: 3 }]);
  idle(mia, ada, zed, bo);

  step = "disconnect";
  // zed is in both rooms when the connection goes: both rooms hear it.
  await join(zed, "lobby", ["mia", "zed"]);
  await mia.expect("user joined", { room: "lobby", name: "zed" });
  await rooms([{ name: "lobby", members: 2 }, { name: "other", members: 3 }]);
  zed.close();
  await mia.expect("user left", { room: "lobby", name: "zed" });
  await bo.expect("user left", { room: "other", name: "zed" });
  await ada.expect("user left", { room: "other", name: "zed" });
  await sync("lobby", [mia]);
  await sync("other", [bo, ada]);
  await rooms([{ name: "lobby", members: 1 }, { name: "other", members: 2 }]);
  idle(mia, ada, bo);
  for (const m of [mia, ada, bo]) m.close();
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    const res = JSON.parse((await http("GET", "/api/rooms")).text);
    if (res.length === 0) break;
    if (Date.now() > deadline) throw new Error(`rooms left after everyone disconnected: ${JSON.stringify(res)}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  step = "page";
  const page = await http("GET", "/");
  assert.equal(page.status, 200, "GET /");
  assert.match(page.type, /^text\/html/, "GET / content-type");
  for (const id of ["name", "room", "enter", "status", "log", "members", "text", "submit"]) {
    assert.ok(page.text.includes(`id="${id}"`), `the page should have #${id}`);
  }
  const local = "node_modules/socket.io-client/dist/socket.io.min.js";
  let client = "missing";
  if (existsSync(local)) {
    client = "vendor";
    assert.ok(page.text.includes('<script src="/vendor/socket.io.min.js"></script>'), "the page should load the client from /vendor/socket.io.min.js");
    const js = await http("GET", "/vendor/socket.io.min.js");
    assert.equal(js.status, 200, "GET /vendor/socket.io.min.js");
    assert.match(js.type, /javascript/, "GET /vendor/socket.io.min.js content-type");
    assert.equal(js.text, readFileSync(local, "utf8"), "the vendored client is node_modules' file");
  } else {
    assert.ok(!page.text.includes("/vendor/"), "without node_modules the page should not load /vendor/");
  }
  assert.ok(!page.text.includes("{{"), "the page template should be filled");
  assert.ok(!/(src|href)="(https?:)?\/\//.test(page.text), "the page should load nothing from another host");
  const icon = await http("GET", "/favicon.ico");
  assert.equal(icon.status, 200, "GET /favicon.ico");
  assert.match(icon.type, /^image\//, "GET /favicon.ico content-type");

  clearTimeout(timer);
  process.stdout.write(JSON.stringify({ ok: true, client: "socket.io-client", scenario: "chat", page_client: client }) + "\n");
  process.exit(0);
}

main().catch(fail);
