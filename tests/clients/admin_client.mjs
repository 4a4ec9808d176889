// Plays the Admin UI with the official client (socket.io-client in Node, connecting as the UI
// does) against an instrumented Rust server, and checks what the UI relies on, message by
// message (the shapes captured from Node's instrumentation, ../shared research, part A):
//
//   node tests/clients/admin_client.mjs --mode main --url URL --password PW
//   node tests/clients/admin_client.mjs --mode readonly --url URL
//   node tests/clients/admin_client.mjs --mode fleet --url URL_A --url-b URL_B
//
// main (basic auth, development mode, server id `node-1`; `/` answers `join` room with an ack
// and emits `joined` room):
//   - no or wrong credentials get CONNECT_ERROR "invalid credentials"; the right ones get
//     `session` (16 hex digits), `config` (the 9 features), `all_sockets`, `server_stats`;
//   - reconnecting with `{sessionId}` alone is accepted (no new `session`), a made-up one not;
//   - a client's socket_connected (handshake, rooms), its room_joined, event_received,
//     event_sent; the UI's join / emit / leave / _disconnect carried out (the client sees the
//     event, the disconnect), each reported back; server_stats' counts.
// readonly: `config` offers no command; a `_disconnect` from the UI is ignored (the client is
//   still connected at the next stats, and still answers).
// fleet (two Rust servers over Redis, `node-a` and `node-b`, no auth): the UI on node A hears
//   both servers' stats, sees a socket of node B connect, lists it in `all_sockets`, and
//   disconnects it through node A.
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { createRequire } from "node:module";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) fail(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[++i];
}
const STEP_MS = 10000;
let step = "start";
const opened = [];

function fail(msg) {
  process.stderr.write(`FAIL [admin client ${args.mode}, step ${step}]: ${msg?.stack ?? msg}\n`);
  for (const s of opened) s.close();
  process.exit(1);
}
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);
const timer = setTimeout(() => fail("timed out"), 60000);

/// A socket that records every event, with `next(name, pred)` to await one.
function record(socket) {
  opened.push(socket);
  socket.log = [];
  socket.waiters = [];
  socket.onAny((event, ...a) => {
    socket.log.push([event, ...a]);
    socket.waiters = socket.waiters.filter((w) => !w(event, a));
  });
  socket.next = (name, pred = () => true) =>
    new Promise((resolve, reject) => {
      const found = socket.log.find(([e, ...a]) => e === name && pred(...a));
      if (found) return resolve(found.slice(1));
      const t = setTimeout(() => reject(new Error(`no ${name} within ${STEP_MS} ms`)), STEP_MS);
      socket.waiters.push((e, a) => {
        if (e !== name || !pred(...a)) return false;
        clearTimeout(t);
        resolve(a);
        return true;
      });
    });
  return socket;
}

/// Connects as the UI does; resolves with the socket, or rejects with the CONNECT_ERROR.
function admin(url, auth) {
  const socket = record(
    io(`${url}/admin`, { auth, forceNew: true, reconnection: false, withCredentials: true, transports: ["polling", "websocket"] }),
  );
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (e) => {
      socket.close();
      reject(e);
    });
  });
}

async function refused(url, auth) {
  await assert.rejects(admin(url, auth), (e) => e.message === "invalid credentials");
}

async function client(url, query) {
  const socket = record(io(url, { forceNew: true, reconnection: false, query }));
  socket.disconnects = [];
  socket.on("disconnect", (r) => socket.disconnects.push(r));
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return socket;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ALL = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"];

function checkStats(stats, serverId) {
  assert.equal(stats.serverId, serverId);
  assert.equal(typeof stats.hostname, "string");
  assert.equal(typeof stats.pid, "number");
  assert.equal(typeof stats.uptime, "number");
  assert.equal(typeof stats.clientsCount, "number");
  assert.equal(typeof stats.pollingClientsCount, "number");
  assert.ok(Array.isArray(stats.aggregatedEvents));
  for (const e of stats.aggregatedEvents) {
    assert.equal(e.timestamp % 1000, 0, "aggregated timestamps are whole seconds");
    assert.ok(["rawConnection", "rawDisconnection", "packetsIn", "packetsOut", "bytesIn", "bytesOut"].includes(e.type), e.type);
    assert.ok(e.count > 0);
  }
  assert.ok(stats.namespaces.some((n) => n.name === "/admin"));
}

async function main() {
  if (args.mode === "main") {
    const url = args.url;
    step = "refused";
    await refused(url, {});
    await refused(url, { username: "admin", password: "wrong" });
    await refused(url, { username: "someone", password: args.password });
    await refused(url, { sessionId: "0123456789abcdef" });

    step = "login";
    const ui = await admin(url, { username: "admin", password: args.password });
    const [sessionId] = await ui.next("session");
    assert.match(sessionId, /^[0-9a-f]{16}$/);
    const [config] = await ui.next("config");
    assert.deepEqual(config.supportedFeatures, ALL);
    const [all] = await ui.next("all_sockets");
    assert.ok(all.some((s) => s.nsp === "/admin" && s.id === ui.id), "the UI's own socket is listed");
    const [stats] = await ui.next("server_stats");
    checkStats(stats, "node-1");

    step = "session";
    const again = await admin(url, { sessionId });
    await again.next("config");
    assert.equal(again.log.filter(([e]) => e === "session").length, 0, "a new session for a known one");
    again.close();

    step = "socket_connected";
    const a = await client(url, { who: "A" });
    const [view, at] = await ui.next("socket_connected", (s) => s.id === a.id);
    assert.match(at, ISO);
    assert.equal(view.nsp, "/");
    assert.equal(view.clientId, a.io.engine.id.slice(0, 12));
    assert.ok(["polling", "websocket"].includes(view.transport));
    assert.deepEqual(view.rooms, [a.id]);
    assert.deepEqual(view.data, {});
    assert.equal(view.handshake.query.who, "A");
    assert.equal(view.handshake.address, "127.0.0.1");
    assert.equal(typeof view.handshake.headers, "object");
    assert.match(view.handshake.url, /^\/socket\.io\/\?/);
    assert.match(view.handshake.time, /GMT\+0000 \(Coordinated Universal Time\)$/);
    assert.equal(view.handshake.auth, undefined, "the auth object is not shown");
    await ui.next("room_joined", (nsp, room, id) => nsp === "/" && room === a.id && id === a.id);

    step = "events";
    assert.deepEqual(await a.timeout(STEP_MS).emitWithAck("join", "room1"), "room1");
    const [, , received, at2] = await ui.next("event_received", (nsp, id) => nsp === "/" && id === a.id);
    assert.deepEqual(received, ["join", "room1"], "the ack is not an argument");
    assert.match(at2, ISO);
    await ui.next("room_joined", (nsp, room, id) => room === "room1" && id === a.id);
    const [, , sent] = await ui.next("event_sent", (nsp, id) => id === a.id);
    assert.deepEqual(sent, ["joined", "room1"]);

    step = "join";
    ui.emit("join", "/", "vip", a.id);
    await ui.next("room_joined", (nsp, room, id) => room === "vip" && id === a.id);
    step = "emit";
    const announced = a.next("announce");
    ui.emit("emit", "/", "vip", "announce", "from admin", { x: 1 });
    assert.deepEqual(await announced, ["from admin", { x: 1 }]);
    await ui.next("event_sent", (nsp, id, ev) => id === a.id && ev[0] === "announce");
    step = "leave";
    ui.emit("leave", "/", "vip", a.id);
    await ui.next("room_left", (nsp, room, id) => room === "vip" && id === a.id);
    step = "leave without filter";
    ui.emit("leave", "/", "room1", null);
    await ui.next("room_left", (nsp, room, id) => room === "room1" && id === a.id);

    step = "stats";
    const [later] = await ui.next("server_stats", (s) => s.namespaces.some((n) => n.name === "/" && n.socketsCount === 1));
    checkStats(later, "node-1");
    step = "bytes";
    // The engine's bytes in and out reach the dashboard's chart.
    await ui.next("server_stats", (s) =>
      ["bytesIn", "bytesOut"].every((t) => s.aggregatedEvents.some((e) => e.type === t && e.count > 0)),
    );
    assert.ok(later.clientsCount >= 2, "the UI's and A's connections");

    step = "_disconnect";
    // (The client forgets its id once disconnected.)
    const aId = a.id;
    ui.emit("_disconnect", "/", false, aId);
    const [, , reason] = await ui.next("socket_disconnected", (nsp, id) => nsp === "/" && id === aId);
    assert.equal(reason, "server namespace disconnect");
    await ui.next("room_left", (nsp, room, id) => room === aId && id === aId);
    await new Promise((r) => (a.disconnects.length ? r() : a.once("disconnect", r)));
    assert.deepEqual(a.disconnects, ["io server disconnect"]);
  } else if (args.mode === "readonly") {
    const url = args.url;
    step = "login";
    const ui = await admin(url, {});
    const [config] = await ui.next("config");
    assert.deepEqual(config.supportedFeatures, ["AGGREGATED_EVENTS", "ALL_EVENTS"]);
    assert.equal(ui.log.filter(([e]) => e === "session").length, 0);
    const b = await client(url, { who: "B" });
    await ui.next("socket_connected", (s) => s.id === b.id);
    step = "ignored";
    ui.emit("_disconnect", "/", false, b.id);
    ui.emit("join", "/", "vip", b.id);
    // Two stats later the commands have long been read (and ignored): B is still there.
    const n = ui.log.filter(([e]) => e === "server_stats").length;
    await ui.next("server_stats", () => ui.log.filter(([e]) => e === "server_stats").length >= n + 2);
    assert.equal(b.connected, true);
    assert.deepEqual(await b.timeout(STEP_MS).emitWithAck("join", "r"), "r");
    assert.equal(ui.log.some(([e, nsp, room]) => e === "room_joined" && room === "vip"), false);
    assert.deepEqual(b.disconnects, []);
  } else if (args.mode === "fleet") {
    step = "stats of both";
    const ui = await admin(args.url, {});
    await ui.next("server_stats", (s) => s.serverId === "node-a");
    const [statsB] = await ui.next("server_stats", (s) => s.serverId === "node-b");
    checkStats(statsB, "node-b");
    step = "a socket of node B";
    const b = await client(args["url-b"], { who: "B" });
    const [view] = await ui.next("socket_connected", (s) => s.id === b.id);
    assert.equal(view.clientId, b.io.engine.id.slice(0, 12));
    await ui.next("room_joined", (nsp, room, id) => id === b.id && room === b.id);
    step = "all_sockets";
    const ui2 = await admin(args.url, {});
    const [all] = await ui2.next("all_sockets");
    const listed = all.find((s) => s.id === b.id);
    assert.ok(listed, "node B's socket is listed by node A");
    assert.equal(listed.clientId, b.io.engine.id.slice(0, 12));
    assert.deepEqual(listed.data, {});
    ui2.close();
    step = "disconnect through node A";
    // (The client forgets its id once disconnected.)
    const bId = b.id;
    ui.emit("_disconnect", "/", false, bId);
    await new Promise((r) => (b.disconnects.length ? r() : b.once("disconnect", r)));
    assert.deepEqual(b.disconnects, ["io server disconnect"]);
    step = "node B tells the UI on node A";
    await ui.next("socket_disconnected", (nsp, id) => id === bId);
  } else {
    fail(`unknown --mode ${args.mode}`);
  }
  clearTimeout(timer);
  for (const s of opened) s.close();
  console.log(JSON.stringify({ ok: true, mode: args.mode }));
}

main().catch(fail);
