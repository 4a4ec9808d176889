// Drives every room operator and server-side action of tower-socketio with the official
// `socket.io-client`, against the operators server of tests/rooms.rs:
//
//   node tests/clients/operators_client.mjs --url http://127.0.0.1:PORT \
//        --scenario operators|scale [--sockets N] [--timeout MS]
//
// The server (namespaces `/` and `/x`; auth `{ name }`) answers these events:
//   noop → true                          join / leave rooms → the socket's rooms, sorted
//   leave_all → rooms                    gone → the disconnects it saw: [{ name, ns, reason }]
//   op { base, steps, action } → the action's result, where
//     base:   "io" (the handle, namespace /), "socket" (the caller), or a namespace path
//             (`io.of(path)`);
//     steps:  operators applied in order, the first on the base: { op: "to"|"within"|"except",
//             rooms }, { op: "broadcast" } (a socket's), { op: "local" }, { op: "volatile" },
//             { op: "compress", on }, { op: "timeout", ms };
//     action: { do: "emit", event, data, binary? } → true (binary: a second argument, the JSON
//             of data as a buffer); { do: "emit_with_ack", event, data, expect:
//             "string"|"i64"|"any"|"stream" } → [{ id, ok } | { id, err }] sorted by id (err:
//             timeout|disconnected|decode|send; "stream" reads the raw stream, ok = the
//             arguments); { do: "fetch_sockets" } → [{ id, ns, name, rooms }] sorted by id;
//             { do: "sockets_join"|"sockets_leave", rooms } → true; { do: "disconnect_sockets",
//             close } → true; { do: "rooms" } → rooms; { do: "server_count" } → n.
//   A failed op answers { message }.
//
// Each client records every event it receives, in order. After each action the script flushes
// every live client (an acknowledged `noop`: the ack is queued behind whatever the action sent
// it), then checks each client's events exactly: the expected ones, once, and nothing else.
//
// scenario "operators": a handful of clients (WebSocket, polling and upgrading ones) and every
// operator, action and namespace operator, with the expected recipients written out.
// scenario "scale": N sockets (default 1000) over WebSocket from this one process, opened in
// batches of 100; socket i joins r{i % 100} and s{i % 7}; broadcasts to unions of rooms with
// exceptions, whose expected recipients are computed here; every socket must receive exactly
// what it should, once.
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { createRequire } from "node:module";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const { io, Manager } = require("socket.io-client");

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) fail(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[++i];
}
const { url, scenario } = args;
const timeoutMs = Number(args.timeout ?? 60000);
const STEP_MS = 10000;
let step = "start";
const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);

function fail(msg) {
  process.stderr.write(`FAIL [${scenario}, step ${step}]: ${msg?.stack ?? msg}\n`);
  process.exit(1);
}
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);
if (!url) fail("--url is required");

const sorted = (xs) => [...xs].sort();
const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/// One socket: its events in order, its expected rooms, and how it answers `ask`.
class Client {
  constructor(name, socket, ns, index) {
    this.name = name;
    this.socket = socket;
    this.ns = ns;
    this.index = index;
    this.queue = [];
    this.live = false;
    this.rooms = new Set();
    // How it answers `ask`: "answer", "silent" (never), "vanish" (disconnects instead).
    this.mode = "answer";
    this.disconnects = [];
    socket.onAny((event, ...data) => {
      this.queue.push({ event, data: data.filter((d) => typeof d !== "function") });
    });
    socket.on("ask", (data, ack) => {
      if (this.mode === "silent") return;
      if (this.mode === "vanish") {
        this.leave();
        return;
      }
      ack(data.reply === "index" ? this.index : this.name);
    });
    socket.on("disconnect", (reason) => {
      this.disconnects.push(reason);
      if (this.live && !this.expectDisconnect) fail(`${name} (${ns}) disconnected: ${reason}`);
      this.live = false;
    });
  }

  /// The socket id, kept after a disconnect (the client forgets it).
  get id() {
    return this.sid ?? this.socket.id;
  }

  /// Waits for the handshake; a refusal fails the run.
  connected() {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.live = true;
        this.sid = this.socket.id;
        this.rooms = new Set([this.socket.id]);
        resolve(this);
      };
      if (this.socket.connected) return done();
      this.socket.once("connect", done);
      this.socket.once("connect_error", (e) => reject(new Error(`${this.name} (${this.ns}) refused: ${e.message}`)));
    });
  }

  ask(event, data, ms = STEP_MS) {
    return this.socket.timeout(ms).emitWithAck(event, data);
  }

  /// Runs an op; an error answer fails the run.
  async op(spec, ms = STEP_MS) {
    const res = await this.ask("op", spec, ms);
    if (res && typeof res === "object" && !Array.isArray(res) && "message" in res) {
      throw new Error(`op ${JSON.stringify(spec)} by ${this.name} failed: ${res.message}`);
    }
    return res;
  }

  async join(rooms) {
    this.rooms = new Set(await this.ask("join", rooms));
    return sorted(this.rooms);
  }

  async leaveRooms(rooms) {
    this.rooms = new Set(await this.ask("leave", rooms));
    return sorted(this.rooms);
  }

  leave() {
    this.live = false;
    this.socket.disconnect();
  }

  take() {
    const q = this.queue;
    this.queue = [];
    return q;
  }
}

const clients = [];

/// A client of namespace `ns`, on its own connection or on `manager`'s.
async function connect(name, { ns = "/", transports, manager, index } = {}) {
  const socket = manager
    ? manager.socket(ns, { auth: { name } })
    : io(new URL(ns, url).href, { forceNew: true, reconnection: false, auth: { name }, timeout: STEP_MS, ...(transports ? { transports } : {}) });
  const c = new Client(name, socket, ns, index ?? clients.length);
  clients.push(c);
  return c.connected();
}

/// Every live client has received whatever was sent to it before now.
async function flush(list = clients) {
  await Promise.all(
    list.filter((c) => c.live).map(async (c) => assert.equal(await c.ask("noop"), true, `${c.name} noop`)),
  );
}

/// After `action`, exactly the clients `expected` got one `event` carrying `{ tag }` (and, when
/// `binary`, its JSON as a buffer), and the others nothing.
async function expectDelivery(label, expected, action, { event = "e", binary = false } = {}) {
  step = label;
  const data = { tag: label };
  await action({ do: "emit", event, data, binary });
  await flush();
  const want = new Set(expected.map((c) => c.name + c.ns));
  for (const c of clients.filter((c) => c.live)) {
    const got = c.take();
    if (!want.has(c.name + c.ns)) {
      assert.deepEqual(got, [], `${label}: ${c.name} (${c.ns}) should get nothing`);
      continue;
    }
    assert.equal(got.length, 1, `${label}: ${c.name} (${c.ns}) should get one event: ${JSON.stringify(got)}`);
    assert.equal(got[0].event, event, `${label}: ${c.name} event`);
    if (binary) {
      assert.equal(got[0].data.length, 2, `${label}: ${c.name} should get two arguments`);
      assert.deepEqual(got[0].data[0], data);
      assert.ok(Buffer.isBuffer(got[0].data[1]), `${label}: ${c.name} second argument should be binary`);
      assert.equal(got[0].data[1].toString(), JSON.stringify(data));
    } else {
      assert.deepEqual(got[0].data, [data], `${label}: ${c.name} data`);
    }
  }
  for (const c of expected) assert.ok(c.live, `${label}: ${c.name} should be live`);
}

/// The steps to a room operator, in the script's short form: ["to", rooms], ["broadcast"], …
function steps(...list) {
  return list.map(([op, arg]) => {
    if (op === "to" || op === "within" || op === "except") return { op, rooms: [].concat(arg) };
    if (op === "compress") return { op, on: arg };
    if (op === "timeout") return { op, ms: arg };
    return { op };
  });
}

/// An action function for expectDelivery: `by` runs it from `base` through `list` steps.
const via = (by, base, ...list) => (action) => by.op({ base, steps: steps(...list), action });

/// The sockets the server describes, as the script expects them.
const described = (list) => list.map((c) => ({ id: c.id, ns: c.ns, name: c.name, rooms: sorted(c.rooms) })).sort(byId);

async function operators() {
  step = "connect";
  const T = [["websocket"], ["polling"], undefined, ["websocket"], ["polling"], undefined];
  const c = [];
  for (let i = 0; i < 6; i++) c.push(await connect(`c${i}`, { transports: T[i] }));
  const x0 = await connect("x0", { ns: "/x", transports: ["websocket"] });
  const x1 = await connect("x1", { ns: "/x" });
  const main = () => clients.filter((k) => k.live && k.ns === "/");

  step = "join and leave";
  assert.deepEqual(await c[0].join("a"), sorted([c[0].id, "a"]));
  assert.deepEqual(await c[0].join(["b", "c"]), sorted([c[0].id, "a", "b", "c"]));
  assert.deepEqual(await c[1].join(["a", "b"]), sorted([c[1].id, "a", "b"]));
  assert.deepEqual(await c[2].join("b"), sorted([c[2].id, "b"]));
  assert.deepEqual(await c[3].join(["c"]), sorted([c[3].id, "c"]));
  assert.deepEqual(await c[4].join(["a", "c", "d"]), sorted([c[4].id, "a", "c", "d"]));
  assert.deepEqual(await c[4].leaveRooms("d"), sorted([c[4].id, "a", "c"]));
  assert.deepEqual(await c[4].join(["x1", "x2", "x3"]), sorted([c[4].id, "a", "c", "x1", "x2", "x3"]));
  assert.deepEqual(await c[4].leaveRooms(["x1", "x2"]), sorted([c[4].id, "a", "c", "x3"]));
  assert.deepEqual(await c[4].leaveRooms(["x3", "never-joined"]), sorted([c[4].id, "a", "c"]));
  assert.deepEqual(await c[5].join(["p", "q"]), sorted([c[5].id, "p", "q"]));
  c[5].rooms = new Set(await c[5].ask("leave_all"));
  assert.deepEqual(sorted(c[5].rooms), [c[5].id], "leave_all keeps the socket's own room");
  assert.deepEqual(sorted(await c[5].ask("rooms")), [c[5].id]);
  assert.deepEqual(await x0.join("xr"), sorted([x0.id, "xr"]));
  // Rooms are per namespace: x1's "a" is not c0's.
  assert.deepEqual(await x1.join("a"), sorted([x1.id, "a"]));
  assert.deepEqual(await x1.leaveRooms("a"), [x1.id]);

  step = "io.rooms";
  const mainRooms = () => sorted(new Set(main().flatMap((k) => [...k.rooms])));
  assert.deepEqual(await c[0].op({ base: "io", steps: [], action: { do: "rooms" } }), ["a", "b", "c", ...main().map((k) => k.id)].sort());
  assert.deepEqual(await c[0].op({ base: "io", steps: [], action: { do: "rooms" } }), mainRooms());
  assert.deepEqual(await c[0].op({ base: "io", steps: steps(["local"]), action: { do: "rooms" } }), mainRooms());
  assert.deepEqual(await c[0].op({ base: "/x", steps: [], action: { do: "rooms" } }), sorted([x0.id, x1.id, "xr"]));

  step = "server_count";
  assert.equal(await c[0].op({ base: "io", steps: steps(["local"]), action: { do: "server_count" } }), 1);
  assert.equal(await c[0].op({ base: "/x", steps: steps(["to", []]), action: { do: "server_count" } }), 1);
  assert.equal(await c[0].op({ base: "socket", steps: steps(["broadcast"]), action: { do: "server_count" } }), 1);

  const [a0, a1, a2, a3, a4, a5] = c;

  // A socket's operators leave the socket out.
  await expectDelivery("socket.to(a)", [a1, a4], via(a0, "socket", ["to", "a"]));
  await expectDelivery("socket.to([a, b])", [a1, a2, a4], via(a0, "socket", ["to", ["a", "b"]]));
  await expectDelivery("socket.to([a, b, c])", [a1, a2, a3, a4], via(a0, "socket", ["to", ["a", "b", "c"]]));
  await expectDelivery("socket.to(a).to(b)", [a1, a2, a4], via(a0, "socket", ["to", "a"], ["to", "b"]));
  await expectDelivery("socket.within(b)", [a0, a2], via(a1, "socket", ["within", "b"]));
  await expectDelivery("socket.except(a)", [a2, a3, a5], via(a0, "socket", ["except", "a"]));
  await expectDelivery("socket.to(c).except(a)", [a3], via(a0, "socket", ["to", "c"], ["except", "a"]));
  await expectDelivery("socket.broadcast()", [a0, a1, a3, a4, a5], via(a2, "socket", ["broadcast"]));
  await expectDelivery("socket.broadcast().to(a)", [a0, a1, a4], via(a2, "socket", ["broadcast"], ["to", "a"]));
  await expectDelivery("socket.broadcast().except([a, c])", [a5], via(a2, "socket", ["broadcast"], ["except", ["a", "c"]]));
  await expectDelivery("socket.to(own id)", [], via(a3, "socket", ["to", a3.id]));
  await expectDelivery("socket.to(nobody's room)", [], via(a3, "socket", ["to", "nope"]));
  // A socket's flags target the socket itself.
  await expectDelivery("socket.emit", [a3], via(a3, "socket"));
  await expectDelivery("socket.volatile()", [a3], via(a3, "socket", ["volatile"]));
  await expectDelivery("socket.compress(true)", [a3], via(a3, "socket", ["compress", true]));
  await expectDelivery("socket.local()", [a3], via(a3, "socket", ["local"]));

  // The handle's operators: unions of rooms, minus exceptions.
  await expectDelivery("io.emit", [a0, a1, a2, a3, a4, a5], via(a5, "io"));
  await expectDelivery("io.to([a, c]).except(b)", [a3, a4], via(a5, "io", ["to", ["a", "c"]], ["except", "b"]));
  await expectDelivery("io.except([a, b])", [a3, a5], via(a5, "io", ["except", ["a", "b"]]));
  await expectDelivery("io.within(b).except(c)", [a1, a2], via(a5, "io", ["within", "b"], ["except", "c"]));
  await expectDelivery("io.except(a).except(b)", [a3, a5], via(a5, "io", ["except", "a"], ["except", "b"]));
  await expectDelivery("io.to(a).except(a)", [], via(a5, "io", ["to", "a"], ["except", "a"]));
  await expectDelivery("io.to(own id)", [a3], via(a0, "io", ["to", a3.id]));
  await expectDelivery("io.except(own id)", [a0, a1, a2, a4, a5], via(a0, "io", ["except", a3.id]));
  await expectDelivery("io.to(nobody's room)", [], via(a0, "io", ["to", "nope"]));
  await expectDelivery("io.local()", [a0, a1, a2, a3, a4, a5], via(a0, "io", ["local"]));
  await expectDelivery("io.local().to(b)", [a0, a1, a2], via(a0, "io", ["local"], ["to", "b"]));
  await expectDelivery("io.volatile()", [a0, a1, a2, a3, a4, a5], via(a0, "io", ["volatile"]));
  await expectDelivery("io.volatile().to(c)", [a0, a3, a4], via(a0, "io", ["volatile"], ["to", "c"]));
  await expectDelivery("io.compress(true).to(c)", [a0, a3, a4], via(a0, "io", ["compress", true], ["to", "c"]));
  await expectDelivery("io.compress(false)", [a0, a1, a2, a3, a4, a5], via(a0, "io", ["compress", false]));
  await expectDelivery("io.to(a) binary", [a0, a1, a4], via(a2, "io", ["to", "a"]), { binary: true });
  await expectDelivery("socket.to(b) binary", [a0, a1], via(a2, "socket", ["to", "b"]), { binary: true });
  const odd = "salle-é-🎉 \"x\"";
  await a1.join(odd);
  await a5.join(odd);
  await expectDelivery("io.to(unicode room)", [a1, a5], via(a0, "io", ["to", odd]));
  await a5.leaveRooms(odd);
  await expectDelivery("io.to(unicode room) after a leave", [a1], via(a0, "io", ["to", odd]));
  await a1.leaveRooms(odd);

  // Namespace operators.
  await expectDelivery("of(/x).emit", [x0, x1], via(a0, "/x"));
  await expectDelivery("of(/x).to(xr)", [x0], via(a0, "/x", ["to", "xr"]));
  await expectDelivery("of(/x).except(xr)", [x1], via(a0, "/x", ["except", "xr"]));
  await expectDelivery("of(/x).to(a): rooms are per namespace", [], via(a0, "/x", ["to", "a"]));
  await expectDelivery("of(/x).volatile().local()", [x0, x1], via(a0, "/x", ["volatile"], ["local"]));
  await expectDelivery("/x socket.broadcast()", [x0], via(x1, "socket", ["broadcast"]));
  await expectDelivery("/x socket.to(xr)", [], via(x0, "socket", ["to", "xr"]));
  await expectDelivery("of(/).emit", [a0, a1, a2, a3, a4, a5], via(x0, "/"));
  await expectDelivery("of(/).within(a)", [a0, a1, a4], via(x0, "/", ["within", "a"]));

  // Broadcasts with acknowledgements.
  const ack = (by, base, list, data, expect, ms) => by.op({ base, steps: steps(...list), action: { do: "emit_with_ack", event: "ask", data, expect } }, ms);
  const asked = (label, expected, data) => {
    const want = new Set(expected.map((k) => k.name + k.ns));
    for (const k of clients.filter((k) => k.live)) {
      const got = k.take();
      if (want.has(k.name + k.ns)) assert.deepEqual(got, [{ event: "ask", data: [data] }], `${label}: ${k.name} asked`);
      else assert.deepEqual(got, [], `${label}: ${k.name} should not be asked`);
    }
  };
  const okAll = (list, value) => list.map((k) => ({ id: k.id, ok: value(k) })).sort(byId);

  step = "io.timeout().to(b).emit_with_ack";
  let d = { reply: "name" };
  assert.deepEqual(await ack(a5, "io", [["timeout", 3000], ["to", "b"]], d, "string"), okAll([a0, a1, a2], (k) => k.name));
  await flush();
  asked(step, [a0, a1, a2], d);

  step = "emit_with_ack, one client silent: timeout";
  a2.mode = "silent";
  let t0 = Date.now();
  assert.deepEqual(
    await ack(a5, "io", [["to", "b"], ["timeout", 400]], d, "string"),
    [{ id: a0.id, ok: "c0" }, { id: a1.id, ok: "c1" }, { id: a2.id, err: "timeout" }].sort(byId),
  );
  let took = Date.now() - t0;
  assert.ok(took >= 350 && took < 4000, `the timeout of 400 ms took ${took} ms`);
  await flush();
  asked(step, [a0, a1, a2], d);

  step = "emit_with_ack, default timeout (the server's 1 s)";
  t0 = Date.now();
  assert.deepEqual(await ack(a5, "io", [["to", a2.id]], d, "any"), [{ id: a2.id, err: "timeout" }]);
  took = Date.now() - t0;
  assert.ok(took >= 900 && took < 5000, `the default ack timeout of 1 s took ${took} ms`);
  a2.mode = "answer";
  await flush();
  asked(step, [a2], d);

  step = "emit_with_ack typed i64";
  d = { reply: "index" };
  assert.deepEqual(await ack(a5, "io", [["timeout", 3000], ["to", "a"]], d, "i64"), okAll([a0, a1, a4], (k) => k.index));
  d = { reply: "name" };
  assert.deepEqual(
    await ack(a5, "io", [["timeout", 3000], ["to", "a"]], d, "i64"),
    [a0, a1, a4].map((k) => ({ id: k.id, err: "decode" })).sort(byId),
  );
  await flush();
  for (const k of [a0, a1, a4]) assert.equal(k.take().length, 2, `${step}: ${k.name} asked twice`);

  step = "emit_with_ack as a raw stream";
  d = { reply: "index" };
  assert.deepEqual(await ack(a5, "io", [["within", "c"], ["timeout", 3000]], d, "stream"), okAll([a0, a3, a4], (k) => [k.index]));
  await flush();
  asked(step, [a0, a3, a4], d);

  step = "socket.to(a).timeout().emit_with_ack";
  assert.deepEqual(await ack(a0, "socket", [["to", "a"], ["timeout", 3000]], d, "i64"), okAll([a1, a4], (k) => k.index));
  await flush();
  asked(step, [a1, a4], d);

  step = "socket.timeout().emit_with_ack: itself";
  assert.deepEqual(await ack(a3, "socket", [["timeout", 3000]], d, "i64"), okAll([a3], (k) => k.index));
  await flush();
  asked(step, [a3], d);

  step = "socket.emit_with_ack";
  assert.deepEqual(await ack(a3, "socket", [], d, "any"), okAll([a3], (k) => k.index));
  await flush();
  asked(step, [a3], d);

  step = "of(/x).emit_with_ack";
  d = { reply: "name" };
  assert.deepEqual(await ack(a3, "/x", [], d, "string"), okAll([x0, x1], (k) => k.name));
  await flush();
  asked(step, [x0, x1], d);

  step = "emit_with_ack to nobody";
  assert.deepEqual(await ack(a3, "io", [["to", "nope"]], d, "string"), []);

  step = "emit_with_ack, a client that disconnects instead of answering";
  const v = await connect("vanisher", { transports: ["websocket"] });
  await v.join("tmp");
  v.mode = "vanish";
  v.expectDisconnect = true;
  assert.deepEqual(await ack(a0, "io", [["to", "tmp"], ["timeout", 5000]], d, "string"), [{ id: v.id, err: "disconnected" }]);
  await flush();
  assert.deepEqual(v.disconnects, ["io client disconnect"]);

  step = "fetch_sockets";
  assert.deepEqual(await a0.op({ base: "io", steps: [], action: { do: "fetch_sockets" } }), described(main()));
  assert.deepEqual(await a0.op({ base: "io", steps: steps(["within", "a"]), action: { do: "fetch_sockets" } }), described([a0, a1, a4]));
  assert.deepEqual(await a0.op({ base: "io", steps: steps(["except", "b"]), action: { do: "fetch_sockets" } }), described([a3, a4, a5]));
  assert.deepEqual(await a0.op({ base: "socket", steps: steps(["to", "a"]), action: { do: "fetch_sockets" } }), described([a1, a4]));
  assert.deepEqual(await a0.op({ base: "/x", steps: [], action: { do: "fetch_sockets" } }), described([x0, x1]));
  assert.deepEqual(await a0.op({ base: "io", steps: steps(["to", "nope"]), action: { do: "fetch_sockets" } }), []);

  step = "sockets_join";
  const joined = (list, room) => list.forEach((k) => k.rooms.add(room));
  const left = (list, room) => list.forEach((k) => k.rooms.delete(room));
  assert.equal(await a0.op({ base: "io", steps: steps(["within", "a"]), action: { do: "sockets_join", rooms: ["z"] } }), true);
  joined([a0, a1, a4], "z");
  assert.deepEqual(sorted(await a1.ask("rooms")), sorted(a1.rooms));
  await expectDelivery("io.to(z) after within(a).sockets_join(z)", [a0, a1, a4], via(a5, "io", ["to", "z"]));
  assert.equal(await a0.op({ base: "io", steps: steps(["within", "z"], ["except", "b"]), action: { do: "sockets_leave", rooms: ["z"] } }), true);
  left([a4], "z");
  await expectDelivery("io.to(z) after within(z).except(b).sockets_leave(z)", [a0, a1], via(a5, "io", ["to", "z"]));
  assert.equal(await a0.op({ base: "io", steps: [], action: { do: "sockets_join", rooms: ["all1", "all2"] } }), true);
  joined(main(), "all1");
  joined(main(), "all2");
  assert.equal(await a0.op({ base: "io", steps: [], action: { do: "sockets_leave", rooms: ["all1"] } }), true);
  left(main(), "all1");
  assert.equal(await a0.op({ base: "io", steps: [], action: { do: "sockets_leave", rooms: ["all2", "z", "never"] } }), true);
  left(main(), "all2");
  left(main(), "z");
  assert.equal(await a0.op({ base: "socket", steps: steps(["to", "b"]), action: { do: "sockets_join", rooms: ["fromsock"] } }), true);
  joined([a1, a2], "fromsock");
  assert.equal(await a0.op({ base: "/x", steps: [], action: { do: "sockets_join", rooms: ["xall", "xall2"] } }), true);
  joined([x0, x1], "xall");
  joined([x0, x1], "xall2");
  assert.equal(await a0.op({ base: "/x", steps: steps(["within", "xr"]), action: { do: "sockets_leave", rooms: ["xall", "xall2"] } }), true);
  left([x0], "xall");
  left([x0], "xall2");
  assert.deepEqual(await a0.op({ base: "io", steps: [], action: { do: "fetch_sockets" } }), described(main()));
  assert.deepEqual(await a0.op({ base: "/x", steps: [], action: { do: "fetch_sockets" } }), described([x0, x1]));
  assert.deepEqual(await a0.op({ base: "io", steps: [], action: { do: "rooms" } }), mainRooms());
  for (const k of clients.filter((k) => k.live)) assert.deepEqual(sorted(await k.ask("rooms")), sorted(k.rooms), `${k.name} rooms`);
  await expectDelivery("io.to(fromsock)", [a1, a2], via(a5, "io", ["to", "fromsock"]));
  await expectDelivery("of(/x).to(xall)", [x1], via(a5, "/x", ["to", "xall"]));

  step = "disconnect_sockets(false)";
  // k1 and k2 each have / and /x on one connection: k1's a WebSocket, k2's long-polling.
  const m1 = new Manager(url, { reconnection: false, transports: ["websocket"] });
  const k1 = await connect("k1", { manager: m1 });
  const k1x = await connect("k1", { manager: m1, ns: "/x" });
  const m2 = new Manager(url, { reconnection: false, transports: ["polling"] });
  const k2 = await connect("k2", { manager: m2 });
  const k2x = await connect("k2", { manager: m2, ns: "/x" });
  await k1.join("kick");
  await k2.join("close");
  // (Not live any more: the flush leaves them out.)
  k1.expectDisconnect = true;
  k1.live = false;
  assert.equal(await a0.op({ base: "io", steps: steps(["to", "kick"]), action: { do: "disconnect_sockets", close: false } }), true);
  await flush();
  await until(() => k1.disconnects.length === 1, "k1 disconnected");
  assert.deepEqual(k1.disconnects, ["io server disconnect"]);
  // The connection stays up for k1's other namespace.
  assert.equal(k1x.live, true);
  await expectDelivery("k1's /x after its / was disconnected", [x0, x1, k1x, k2x], via(a0, "/x"));

  step = "disconnect_sockets(true)";
  k2.expectDisconnect = k2x.expectDisconnect = true;
  k2.live = k2x.live = false;
  assert.equal(await a0.op({ base: "io", steps: steps(["to", "close"]), action: { do: "disconnect_sockets", close: true } }), true);
  await until(() => k2.disconnects.length === 1 && k2x.disconnects.length === 1, "k2 disconnected");
  // As Node's server: each of the connection's sockets is disconnected, then the connection.
  assert.deepEqual([k2.disconnects, k2x.disconnects], [["io server disconnect"], ["io server disconnect"]]);
  await flush();
  await expectDelivery("io.emit after the disconnects", [a0, a1, a2, a3, a4, a5], via(a0, "io"));

  step = "of(/x).disconnect_sockets(false)";
  for (const k of [x0, x1, k1x]) {
    k.expectDisconnect = true;
    k.live = false;
  }
  assert.equal(await a0.op({ base: "/x", steps: [], action: { do: "disconnect_sockets", close: false } }), true);
  await until(() => [x0, x1, k1x].every((k) => k.disconnects.length === 1), "/x disconnected");
  for (const k of [x0, x1, k1x]) assert.deepEqual(k.disconnects, ["io server disconnect"], `${k.name} /x`);
  assert.deepEqual(await a0.op({ base: "/x", steps: [], action: { do: "fetch_sockets" } }), []);
  assert.deepEqual(await a0.op({ base: "/x", steps: [], action: { do: "rooms" } }), []);

  step = "what the server saw";
  const gone = await a0.ask("gone");
  const key = (g) => `${g.name} ${g.ns} ${g.reason}`;
  assert.deepEqual(
    gone.map(key).sort(),
    [
      "vanisher / client namespace disconnect",
      "k1 / server namespace disconnect",
      "k2 / server namespace disconnect",
      "k2 /x server namespace disconnect",
      "x0 /x server namespace disconnect",
      "x1 /x server namespace disconnect",
      "k1 /x server namespace disconnect",
    ].sort(),
  );
  assert.deepEqual(await a0.op({ base: "io", steps: [], action: { do: "fetch_sockets" } }), described(main()));
  assert.deepEqual(await a0.op({ base: "io", steps: [], action: { do: "rooms" } }), mainRooms());

  step = "close";
  // Everyone but a0 leaves, and a0 sees them gone from the server; then a0 leaves over its
  // WebSocket. (A polling client that exits without its DISCONNECT reaching the server would
  // stay until the heartbeat misses.)
  for (const k of main()) {
    if (k === a0) continue;
    k.expectDisconnect = true;
    k.leave();
  }
  await untilAsync(async () => (await a0.op({ base: "io", steps: [], action: { do: "fetch_sockets" } })).length === 1, "the others gone");
  const reasons = (await a0.ask("gone")).filter((g) => /^c[1-5]$/.test(g.name)).map(key);
  assert.deepEqual(reasons.sort(), [1, 2, 3, 4, 5].map((i) => `c${i} / client namespace disconnect`));
  a0.expectDisconnect = true;
  a0.leave();
  return { clients: clients.length };
}

async function untilAsync(cond, what, ms = STEP_MS) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function until(cond, what, ms = STEP_MS) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/// Whether a socket in `rooms` (its own id included) is selected by `to` / `except`, from a
/// socket `self` (left out) or from the handle (`self` null).
function selects(rooms, id, { to = [], except = [], self = null }) {
  if (id === self) return false;
  if (except.some((r) => rooms.has(r))) return false;
  return to.length === 0 || to.some((r) => rooms.has(r));
}

async function scale() {
  const n = Number(args.sockets ?? 1000);
  const started = Date.now();
  const timings = {};
  const lap = (what) => (timings[what] = Date.now() - started);

  step = "connect";
  const all = [];
  for (let b = 0; b < n; b += 100) {
    const batch = [];
    for (let i = b; i < Math.min(n, b + 100); i++) batch.push(connect(`u${i}`, { transports: ["websocket"], index: i }));
    all.push(...(await Promise.all(batch)));
  }
  lap("connected");

  step = "join";
  for (let b = 0; b < n; b += 100) {
    await Promise.all(all.slice(b, b + 100).map((k) => k.join([`r${k.index % 100}`, `s${k.index % 7}`])));
  }
  for (const k of all) assert.deepEqual(sorted(k.rooms), sorted([k.id, `r${k.index % 100}`, `s${k.index % 7}`]), `${k.name} rooms`);
  lap("joined");

  step = "rooms";
  const rooms = await all[0].op({ base: "io", steps: [], action: { do: "rooms" } });
  const expectRooms = new Set(all.map((k) => k.id));
  for (let i = 0; i < Math.min(n, 100); i++) expectRooms.add(`r${i}`);
  for (let i = 0; i < Math.min(n, 7); i++) expectRooms.add(`s${i}`);
  assert.deepEqual(rooms, sorted(expectRooms));

  step = "fetch_sockets";
  const everyone = await all[0].op({ base: "io", steps: [], action: { do: "fetch_sockets" } });
  assert.equal(everyone.length, n);
  assert.deepEqual(everyone, described(all));
  assert.deepEqual(await all[0].op({ base: "io", steps: steps(["within", "r3"]), action: { do: "fetch_sockets" } }), described(all.filter((k) => k.index % 100 === 3)));

  step = "sockets_join";
  assert.equal(await all[0].op({ base: "io", steps: steps(["within", "r7"], ["except", "s0"]), action: { do: "sockets_join", rooms: ["hot"] } }), true);
  for (const k of all) if (k.index % 100 === 7 && k.index % 7 !== 0) k.rooms.add("hot");

  step = "broadcasts";
  const range = (p, a, b) => Array.from({ length: b - a }, (_, i) => `${p}${a + i}`);
  // [label, by, base, steps, selection]
  const cases = [
    ["to([r1, r2, r3]).except(s0)", 0, "io", [["to", ["r1", "r2", "r3"]], ["except", "s0"]], { to: ["r1", "r2", "r3"], except: ["s0"] }],
    ["to(r0..r49).except([s1, s2])", 0, "io", [["to", range("r", 0, 50)], ["except", ["s1", "s2"]]], { to: range("r", 0, 50), except: ["s1", "s2"] }],
    ["except(s3)", 0, "io", [["except", "s3"]], { except: ["s3"] }],
    ["to(s4).except(r10..r19)", 0, "io", [["to", "s4"], ["except", range("r", 10, 20)]], { to: ["s4"], except: range("r", 10, 20) }],
    ["within([r5, r6]).except(r5)", 0, "io", [["within", ["r5", "r6"]], ["except", "r5"]], { to: ["r5", "r6"], except: ["r5"] }],
    ["to(r0..r99).except(s0..s5)", 0, "io", [["to", range("r", 0, 100)], ["except", range("s", 0, 6)]], { to: range("r", 0, 100), except: range("s", 0, 6) }],
    ["to([s1, s2]).to(r3).except(r1)", 0, "io", [["to", ["s1", "s2"]], ["to", "r3"], ["except", "r1"]], { to: ["s1", "s2", "r3"], except: ["r1"] }],
    ["to(hot).except(s1)", 0, "io", [["to", "hot"], ["except", "s1"]], { to: ["hot"], except: ["s1"] }],
    ["volatile().to(s6)", 0, "io", [["volatile"], ["to", "s6"]], { to: ["s6"] }],
    ["emit to all", 0, "io", [], {}],
    ["socket 5: to([r5, s5])", 5, "socket", [["to", ["r5", "s5"]]], { to: ["r5", "s5"], self: 5 }],
    ["socket 9: broadcast().except(s2)", 9, "socket", [["broadcast"], ["except", "s2"]], { except: ["s2"], self: 9 }],
    ["socket 12: except([r12, s0])", 12, "socket", [["except", ["r12", "s0"]]], { except: ["r12", "s0"], self: 12 }],
    ["to(own ids of 3 sockets).except(s0)", 0, "io", [["to", [all[1 % n].id, all[7 % n].id, all[50 % n].id]], ["except", "s0"]], { to: [all[1 % n].id, all[7 % n].id, all[50 % n].id], except: ["s0"] }],
  ].filter(([, by]) => by < n);
  const counts = new Map(all.map((k) => [k, new Map()]));
  for (const k of all) {
    k.socket.offAny();
    k.socket.on("b", ({ tag }) => {
      const m = counts.get(k);
      m.set(tag, (m.get(tag) ?? 0) + 1);
    });
  }
  for (const [label, by, base, list] of cases) {
    step = `broadcast ${label}`;
    assert.equal(await all[by].op({ base, steps: steps(...list), action: { do: "emit", event: "b", data: { tag: label } } }), true);
  }
  step = "flush";
  for (let b = 0; b < n; b += 250) await flush(all.slice(b, b + 250));
  lap("broadcast");

  step = "check";
  const problems = [];
  let received = 0;
  for (const [label, , , , sel] of cases) {
    const self = sel.self === undefined ? null : all[sel.self].id;
    let want = 0;
    for (const k of all) {
      const expected = selects(k.rooms, k.id, { ...sel, self }) ? 1 : 0;
      const got = counts.get(k).get(label) ?? 0;
      want += expected;
      received += got;
      if (got !== expected) problems.push(`${label}: ${k.name} got ${got}, expected ${expected}`);
    }
    if (want === 0 && n >= 100) problems.push(`${label}: selects nobody, a useless case`);
  }
  if (problems.length) throw new Error(`${problems.length} wrong deliveries, first ones:\n${problems.slice(0, 20).join("\n")}`);

  step = "emit_with_ack";
  const asked = all.filter((k) => k.index % 100 === 1 || k.index % 100 === 2);
  const answers = await all[0].op({ base: "io", steps: steps(["timeout", 10000], ["to", ["r1", "r2"]]), action: { do: "emit_with_ack", event: "ask", data: { reply: "index" }, expect: "i64" } }, 20000);
  assert.deepEqual(answers, asked.map((k) => ({ id: k.id, ok: k.index })).sort(byId));
  const answersAll = await all[0].op({ base: "io", steps: steps(["timeout", 15000]), action: { do: "emit_with_ack", event: "ask", data: { reply: "index" }, expect: "i64" } }, 30000);
  assert.equal(answersAll.length, n);
  assert.deepEqual(answersAll, all.map((k) => ({ id: k.id, ok: k.index })).sort(byId));
  lap("acked");

  step = "disconnect_sockets";
  for (const k of all) {
    if (k.index % 7 !== 3) continue;
    k.expectDisconnect = true;
    k.live = false;
  }
  assert.equal(await all[0].op({ base: "io", steps: steps(["to", "s3"]), action: { do: "disconnect_sockets", close: false } }), true);
  await until(() => all.every((k) => (k.index % 7 === 3) === (k.disconnects.length === 1)), "s3 disconnected");
  const remaining = all.filter((k) => k.index % 7 !== 3);
  assert.equal((await all[0].op({ base: "io", steps: [], action: { do: "fetch_sockets" } })).length, remaining.length);

  step = "close";
  for (const k of remaining) {
    k.expectDisconnect = true;
    k.leave();
  }
  lap("done");
  return { sockets: n, cases: cases.length, received, timings };
}

const scenarios = { operators, scale };
if (!scenarios[scenario]) fail(`--scenario must be one of ${Object.keys(scenarios).join("|")}`);
scenarios[scenario]()
  .then((summary) => {
    clearTimeout(timer);
    process.stdout.write(JSON.stringify({ ok: true, client: "socket.io-client", scenario, ...summary }) + "\n");
    process.exit(0);
  })
  .catch(fail);
