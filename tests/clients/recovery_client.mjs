// Drives the official socket.io-client against the connection state recovery server of
// tests/recovery.rs and checks one scenario.
//
//   node tests/clients/recovery_client.mjs --url http://127.0.0.1:PORT \
//        --mode polling|websocket|upgrade --scenario NAME [--timeout MS] [--max-disconnection MS]
//        [--cut close|reset] [--socket-url URL]
//
// The server's contract: namespace `/` with `setup` (joins `roomR`, sets data {user: "alice"},
// emits `welcome` 1, answers "ok"), `state` (answers {id, rooms, data, recovered}),
// `volatile-string` (emits `vol` "just-a-string" as volatile, then answers), `live` n (emits
// `live` n to all, then answers), `stream-start` / `stream-stop` (`seq` 0, 1, … to all, one a
// millisecond), `disconnect-me`; a connection middleware refusing auth
// {refuse: true}. When a socket of `/` loses its connection (a recoverable reason), the server
// emits, with k the number of such drops so far: `missed-all` k to all, `missed-bin` k and
// <01 02 03> to all, `missed-room` k to
// roomR, `not-other` k to otherRoom, `not-except` k to all but roomR, `not-volatile` k as
// volatile, `missed-direct` k on the stale socket, `missed-to-sid` k to the old id; then
// `dropped` with the old id on namespace `/control`.
//
// Scenarios:
//   cut       one transport cut (`socket.io.engine.close()`): the same id, rooms and data, the
//             missed events in order, once, before `connect`, each ending with an offset; a live
//             event after it arrives once.
//   stream    `seq` n to all every millisecond, before, during and after one cut: every n
//             arrives once, in order, some replayed.
//   three     three cuts in a row.
//   quiet     a quiet spell longer than the log's bound before the cut (the client's offset has
//             left the log), then one whose last event is a volatile string: both recovered.
//   expiry    the client comes back after --max-disconnection MS: a new socket, nothing replayed.
//   refuse    (middlewares run) the recovering client is refused: CONNECT_ERROR, nothing
//             replayed; its next attempt is a new socket, nothing replayed.
//   middleware (middlewares run) the recovering client passes them and is recovered.
//   leave     a client namespace disconnect, then a server one: never recovered.
//
// Cuts: close (the default) = the client's `socket.io.engine.close()`; reset = the test cuts the
// connection: the script prints the line `cut-me` on stdout when the socket is to be cut, and
// waits for the disconnection (the test resets the TCP connections of a proxy in between;
// --socket-url is then the proxy's, which the socket of `/` connects through, while `/control`
// connects to --url directly, so the drop is reported whatever happens to the proxy).
//
// Modes: polling = transports ["polling"]; websocket = ["websocket"]; upgrade = ["polling",
// "websocket"], each connection waiting for the upgrade before it is cut.
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise. An
// overall timeout (default 20000 ms) ends the run. Sockets never reconnect by themselves: the
// script reconnects once the server has reported the drop on `/control`.
import { io } from "socket.io-client";
import { isDeepStrictEqual } from "node:util";

const MODES = ["polling", "websocket", "upgrade"];
const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) fail(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[++i];
}
const { url, mode, scenario } = args;
const cutBy = args.cut ?? "close";
const socketUrl = args["socket-url"] ?? url;
const timeoutMs = Number(args.timeout ?? 20000);
const maxDisconnection = Number(args["max-disconnection"] ?? 120000);
const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);

if (!url) fail("--url is required");
if (!MODES.includes(mode)) fail(`--mode must be one of ${MODES.join("|")}`);
if (!["close", "reset"].includes(cutBy)) fail("--cut must be close or reset");
const transports = mode === "polling" ? ["polling"] : mode === "websocket" ? ["websocket"] : ["polling", "websocket"];

/// Where the run got to, printed with a failure.
const steps = [];
const step = (what) => steps.push(`${Date.now() % 100000} ${what}`);

function fail(msg) {
  process.stderr.write(`steps:\n${steps.join("\n")}\n`);
  process.stderr.write(`FAIL [recovery_client.mjs ${mode}/${scenario}]: ${msg}\n`);
  process.exit(1);
}

function assertEq(what, got, expected) {
  if (!isDeepStrictEqual(got, expected)) {
    fail(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const options = { transports, upgrade: mode === "upgrade", forceNew: true, reconnection: false };

const control = io(`${url}/control`, options);
let authExtra = {};
const socket = io(socketUrl, { ...options, auth: (cb) => cb({ ...authExtra }) });
/// Every event the socket received since the last (re)connection attempt.
const log = [];
/// Every `seq` number received, in order, and who waits for a count of them.
const seqs = [];
let seqWaiter = null;
socket.onAny((event, ...rest) => {
  log.push([event, ...rest]);
  if (event === "seq") {
    seqs.push(rest[0]);
    if (seqWaiter && seqs.length >= seqWaiter.count) seqWaiter.resolve();
  }
});
const seqCount = (count) =>
  seqs.length >= count ? Promise.resolve() : new Promise((resolve) => (seqWaiter = { count, resolve }));

/// Waits for the socket's connection (or its refusal), then for the upgrade in upgrade mode.
function connection(s) {
  return new Promise((resolve) => {
    const ok = async () => {
      s.off("connect_error", ko);
      step(`connect ${s.id} on ${s.io.engine.transport.name}`);
      if (mode === "upgrade" && s.io.engine.transport.name !== "websocket") {
        await new Promise((r) => s.io.engine.once("upgrade", r));
      }
      resolve({ connected: true, events: log.slice() });
    };
    const ko = (err) => {
      s.off("connect", ok);
      resolve({ connected: false, error: err.message, events: log.slice() });
    };
    if (s.connected) return ok();
    s.once("connect", ok);
    s.once("connect_error", ko);
  });
}

/// Cuts the transport (or has the test cut it); resolves once the client saw the disconnection
/// and the server reported the drop (and emitted what the client misses).
async function cut() {
  step(`cut by ${cutBy}`);
  const dropped = new Promise((r) => control.once("dropped", r));
  const disconnected = new Promise((r) => socket.once("disconnect", r));
  if (cutBy === "reset") process.stdout.write("cut-me\n");
  else socket.io.engine.close();
  const reason = await disconnected;
  step(`disconnected: ${reason}`);
  const sid = await dropped;
  step(`dropped ${sid}`);
  return { reason, sid };
}

/// Reconnects and returns what arrived before `connect`.
async function reconnect() {
  log.length = 0;
  const r = connection(socket);
  step("reconnect");
  socket.connect();
  return r;
}

function names(events) {
  return events.map((e) => e[0]);
}

/// The missed events of drop k, with their offsets.
function checkMissed(events, k) {
  events = events.filter((e) => e[0] !== "seq");
  assertEq("missed events", names(events), ["missed-all", "missed-bin", "missed-room", "missed-direct", "missed-to-sid"]);
  for (const e of events) {
    const bin = e[0] === "missed-bin";
    assertEq(`${e[0]} length`, e.length, bin ? 4 : 3);
    assertEq(`${e[0]} payload`, e[1], k);
    if (bin) assertEq("binary payload", Buffer.from(e[2]).toString("hex"), "010203");
    if (typeof e.at(-1) !== "string") fail(`${e[0]}: no offset in ${JSON.stringify(e)}`);
  }
  const offsets = events.map((e) => e.at(-1));
  if (new Set(offsets).size !== offsets.length) fail(`offsets repeat: ${offsets}`);
}

async function checkState(id, recovered) {
  const state = await socket.timeout(5000).emitWithAck("state");
  assertEq("state id", state.id, id);
  assertEq("state recovered", state.recovered, recovered);
  if (recovered) {
    assertEq("state rooms", state.rooms, [id, "roomR"].sort());
    assertEq("state data", state.data, { user: "alice" });
  } else {
    assertEq("state rooms", state.rooms, [id]);
    assertEq("state data", state.data, {});
  }
}

/// A live event after a recovery arrives once (neither lost nor doubled by the replay).
async function checkLive(n) {
  log.length = 0;
  await socket.timeout(5000).emitWithAck("live", n);
  const live = log.filter((e) => e[0] === "live");
  assertEq("live events", live.map((e) => e[1]), [n]);
}

/// One cut and a recovery; k is the drop's number on the server.
async function recoverOnce(id, k) {
  const { reason, sid } = await cut();
  if (cutBy === "close") assertEq("client disconnect reason", reason, "forced close");
  else if (!["transport close", "transport error"].includes(reason)) fail(`disconnect reason after a reset: ${reason}`);
  assertEq("dropped id", sid, id);
  const r = await reconnect();
  if (!r.connected) fail(`reconnection refused: ${r.error}`);
  assertEq("recovered", socket.recovered, true);
  assertEq("id kept", socket.id, id);
  checkMissed(r.events, k);
  await checkState(id, true);
  await checkLive(k * 100);
}

async function setup() {
  const first = await connection(socket);
  if (!first.connected) fail(`first connection refused: ${first.error}`);
  assertEq("first connection recovered", socket.recovered, false);
  log.length = 0;
  assertEq("setup", await socket.timeout(5000).emitWithAck("setup"), "ok");
  const welcome = log.find((e) => e[0] === "welcome");
  if (!welcome || welcome.length !== 3 || typeof welcome[2] !== "string") {
    fail(`welcome without an offset: ${JSON.stringify(log)}`);
  }
  return socket.id;
}

async function main() {
  const c = await connection(control);
  if (!c.connected) fail(`control refused: ${c.error}`);
  const id = await setup();
  const summary = { id };
  switch (scenario) {
    case "cut":
    case "middleware":
      await recoverOnce(id, 1);
      break;
    case "stream": {
      assertEq("stream", await socket.timeout(5000).emitWithAck("stream-start"), "ok");
      await seqCount(20);
      const { sid } = await cut();
      assertEq("dropped id", sid, id);
      const r = await reconnect();
      if (!r.connected) fail(`reconnection refused: ${r.error}`);
      assertEq("recovered", socket.recovered, true);
      checkMissed(r.events, 1);
      const replayed = r.events.filter((e) => e[0] === "seq").length;
      await seqCount(seqs.length + 20);
      assertEq("stream stopped", await socket.timeout(5000).emitWithAck("stream-stop"), "ok");
      const gaps = seqs.filter((n, i) => n !== i);
      if (gaps.length) fail(`seq out of order, lost or doubled at ${seqs.findIndex((n, i) => n !== i)} of ${seqs.length}`);
      if (replayed === 0) fail("no seq event was replayed");
      summary.seqs = seqs.length;
      summary.replayed = replayed;
      break;
    }
    case "three":
      for (let k = 1; k <= 3; k++) await recoverOnce(id, k);
      summary.cycles = 3;
      break;
    case "quiet": {
      // The client's offset (`welcome`) leaves the log while it waits.
      await delay(maxDisconnection + 500);
      await recoverOnce(id, 1);
      // The last event a volatile string the client takes for its offset.
      await socket.timeout(5000).emitWithAck("volatile-string");
      const vol = log.find((e) => e[0] === "vol");
      assertEq("volatile event", vol, ["vol", "just-a-string"]);
      await delay(maxDisconnection + 500);
      await recoverOnce(id, 2);
      break;
    }
    case "expiry": {
      await cut();
      await delay(maxDisconnection + 500);
      const r = await reconnect();
      if (!r.connected) fail(`reconnection refused: ${r.error}`);
      assertEq("recovered", socket.recovered, false);
      if (socket.id === id) fail("an expired session kept its id");
      assertEq("events before connect", r.events, []);
      await checkState(socket.id, false);
      break;
    }
    case "refuse": {
      await cut();
      authExtra = { refuse: true };
      const refused = await reconnect();
      assertEq("refused", refused.connected, false);
      assertEq("refusal", refused.error, "nope");
      assertEq("events before the refusal", refused.events, []);
      authExtra = {};
      const r = await reconnect();
      if (!r.connected) fail(`reconnection refused: ${r.error}`);
      assertEq("recovered after a refusal", socket.recovered, false);
      if (socket.id === id) fail("a refused recovery kept its id");
      assertEq("events before connect", r.events, []);
      await checkState(socket.id, false);
      break;
    }
    case "leave": {
      socket.disconnect();
      let r = await reconnect();
      if (!r.connected) fail(`reconnection refused: ${r.error}`);
      assertEq("recovered after a client disconnect", socket.recovered, false);
      const second = socket.id;
      if (second === id) fail("a client disconnect kept the id");
      const gone = new Promise((res) => socket.once("disconnect", res));
      socket.emit("disconnect-me");
      assertEq("server disconnect", await gone, "io server disconnect");
      r = await reconnect();
      if (!r.connected) fail(`reconnection refused: ${r.error}`);
      assertEq("recovered after a server disconnect", socket.recovered, false);
      if (socket.id === second) fail("a server disconnect kept the id");
      assertEq("events before connect", r.events, []);
      break;
    }
    default:
      fail(`unknown scenario ${scenario}`);
  }
  clearTimeout(timer);
  socket.disconnect();
  control.disconnect();
  process.stdout.write(JSON.stringify({ ok: true, mode, scenario, ...summary }) + "\n");
  setTimeout(() => process.exit(0), 500).unref();
}

main().catch((e) => fail(e?.stack ?? String(e)));
