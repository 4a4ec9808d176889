// Drives a Redis cluster of three Rust servers (A, B, C; C with the msgpack parser, and its
// client too) and one Node server (N) with the
// official socket.io-client, one client on each (named a, b, c, n), and the npm
// @socket.io/redis-emitter: every cluster-wide operation, asked of a Rust server and of the Node
// server (tests/redis_cluster.rs).
//
//   node tests/clients/redis_cluster_client.mjs --a URL --b URL --c URL --n URL --redis URL
//
// Every server's namespace `/` handles the same events (see tests/clients/node_redis_server.mjs).
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { createRequire } from "node:module";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");
const { Emitter } = require("@socket.io/redis-emitter");
const { createClient } = require("redis");

const args = {};
for (let i = 2; i < process.argv.length; i++) args[process.argv[i].slice(2)] = process.argv[++i];
const timer = setTimeout(() => fail("timed out after 50 s"), 50000);

function fail(msg) {
  process.stderr.write(`FAIL [redis_cluster_client.mjs]: ${msg}\n`);
  process.exit(1);
}
process.on("unhandledRejection", (e) => fail(e && e.stack ? e.stack : String(e)));

async function client(url, name, options = {}) {
  const s = io(url, { transports: ["websocket"], forceNew: true, reconnection: false, query: { name }, ...options });
  s.name = name;
  s.got = [];
  s.waiters = [];
  s.onAny((event, ...a) => {
    s.got.push([event, ...a]);
    s.waiters = s.waiters.filter((w) => !w());
  });
  s.on("q", (cb) => cb(`${name}-ack`));
  s.on("disconnect", (r) => {
    s.gone = r;
    s.waiters = s.waiters.filter((w) => !w());
  });
  await new Promise((resolve) => {
    s.once("connect", resolve);
    s.once("connect_error", (e) => fail(`${name}: connect_error ${e.message}`));
  });
  return s;
}

/// Resolves with the arguments of `event` once `s` has received it.
function received(s, event) {
  return new Promise((resolve) => {
    const check = () => {
      const hit = s.got.find(([e]) => e === event);
      if (hit) resolve(hit.slice(1));
      return Boolean(hit);
    };
    if (!check()) s.waiters.push(check);
  });
}

function disconnected(s) {
  return new Promise((resolve) => {
    const check = () => {
      if (s.gone) resolve(s.gone);
      return Boolean(s.gone);
    };
    if (!check()) s.waiters.push(check);
  });
}

const a = await client(args.a, "a");
const b = await client(args.b, "b");
// C's server uses the msgpack parser.
const c = await client(args.c, "c", { parser: require("socket.io-msgpack-parser") });
const n = await client(args.n, "n");
const all = [a, b, c, n];
const rust = [a, b, c];
const origins = [a, n]; // a Rust server and the Node server ask
const steps = [];

let seq = 0;
/// Asks `origin`'s server to broadcast; checks that exactly `expected` receive it. A fence
/// broadcast to everyone from the same server follows: when it has arrived everywhere, the
/// first one would have too.
async function broadcast(label, origin, spec, expected, value = "v") {
  const event = `news-${++seq}`;
  const fence = `fence-${seq}`;
  assert.equal(await origin.emitWithAck("bcast", { ...spec, event, data: value }), true);
  assert.equal(await origin.emitWithAck("bcast", { event: fence, data: 0 }), true);
  await Promise.all(all.filter((s) => !s.gone).map((s) => received(s, fence)));
  for (const s of all.filter((s) => !s.gone)) {
    const hit = s.got.find(([e]) => e === event);
    if (expected.includes(s)) {
      assert.ok(hit, `${label}: ${s.name} did not receive it`);
      if (spec.binary) {
        assert.deepEqual([...new Uint8Array(hit[1])], value, `${label}: ${s.name}'s bytes`);
      } else {
        assert.deepEqual(hit.slice(1), [value], `${label}: ${s.name}'s data`);
      }
      assert.equal(s.got.filter(([e]) => e === event).length, 1, `${label}: ${s.name} twice`);
    } else {
      assert.equal(hit, undefined, `${label}: ${s.name} should not receive it`);
    }
  }
  steps.push(label);
}

// The server count: four servers, seen from each.
for (const s of all) assert.equal(await s.emitWithAck("count"), 4, `server count from ${s.name}`);
steps.push("server_count");

// Rooms: a and n in r1, b in r2, c in none.
await a.emitWithAck("join", "r1");
await n.emitWithAck("join", "r1");
await b.emitWithAck("join", "r2");

for (const o of origins) {
  const from = o === a ? "Rust" : "Node";
  await broadcast(`broadcast to all from ${from}`, o, {}, all, { x: [1, 2.5, "é", null, true] });
  await broadcast(`binary broadcast from ${from}`, o, { binary: true }, all, [1, 2, 255]);
  await broadcast(`broadcast to r1 from ${from}`, o, { rooms: ["r1"] }, [a, n]);
  await broadcast(`broadcast to r1 and r2 from ${from}`, o, { rooms: ["r1", "r2"] }, [a, b, n]);
  await broadcast(`broadcast except r1 from ${from}`, o, { except: ["r1"] }, [b, c]);
  await broadcast(`broadcast to r1, r2 except r2 from ${from}`, o, { rooms: ["r1", "r2"], except: ["r2"] }, [a, n]);
}

// A second namespace, /chat, on a Rust server and on the Node server: a broadcast in it reaches
// its sockets on the other server, and no socket of `/` (a fence on `/` from the same server
// comes after it).
{
  const ca = await client(`${args.a}/chat`, "chat-a");
  const cn = await client(`${args.n}/chat`, "chat-n");
  for (const s of [ca, cn]) assert.equal(await s.emitWithAck("count"), 4, `/chat servers from ${s.name}`);
  for (const [o, root] of [
    [ca, a],
    [cn, n],
  ]) {
    const event = `chat-${++seq}`;
    assert.equal(await o.emitWithAck("bcast", { event, data: o.name }), true);
    assert.equal(await root.emitWithAck("bcast", { event: `fence-${seq}`, data: 0 }), true);
    for (const s of [ca, cn]) assert.deepEqual(await received(s, event), [o.name]);
    await Promise.all(all.map((s) => received(s, `fence-${seq}`)));
    for (const s of all) assert.equal(s.got.find(([e]) => e === event), undefined, `${s.name} got ${event}`);
  }
  ca.close();
  cn.close();
}
steps.push("a second namespace");

// A Date from Node (msgpack timestamp in the broadcast) reaches every client as its ISO string,
// as Node's own clients get it.
{
  const event = `date-${++seq}`;
  assert.equal(await n.emitWithAck("bcast", { event, data: 1700000000123, date: true }), true);
  for (const s of all) assert.deepEqual(await received(s, event), ["2023-11-14T22:13:20.123Z"], `date for ${s.name}`);
}
steps.push("a Date from Node");

// All rooms: every server sees every room (sockets' own rooms included).
for (const s of all) {
  const rooms = await s.emitWithAck("rooms");
  for (const r of ["r1", "r2", a.id, b.id, c.id, n.id]) {
    assert.ok(rooms.includes(r), `rooms from ${s.name} lacks ${r}: ${rooms}`);
  }
}
steps.push("rooms");

// Fetch sockets, with their rooms, handshake (the query's name) and data, from a Rust and
// from the Node server.
const everyone = [
  { name: "a", rooms: ["r1"], id: a.id, data: { server: "A" } },
  { name: "b", rooms: ["r2"], id: b.id, data: { server: "B" } },
  { name: "c", rooms: [], id: c.id, data: { server: "C" } },
  { name: "n", rooms: ["r1"], id: n.id, data: { server: "N" } },
];
for (const o of origins) {
  assert.deepEqual(await o.emitWithAck("fetch", null), everyone, `fetch from ${o.name}`);
  assert.deepEqual(
    await o.emitWithAck("fetch", "r1"),
    everyone.filter((s) => s.rooms.includes("r1")),
    `fetch r1 from ${o.name}`,
  );
}
steps.push("fetch_sockets");

// A remote socket's emit (Node's RemoteSocket.emit: a broadcast to the socket's own room).
assert.equal(await n.emitWithAck("remote-emit", { name: "b", event: "direct", data: "to b" }), true);
assert.deepEqual(await received(b, "direct"), ["to b"]);
assert.equal(await a.emitWithAck("remote-emit", { name: "n", event: "direct", data: "to n" }), true);
assert.deepEqual(await received(n, "direct"), ["to n"]);
steps.push("remote socket emit from Node", "remote socket emit from Rust");

// Server-side emit: every other server hears it, the sender does not.
await a.emitWithAck("sse", "from A");
await n.emitWithAck("sse", "from N");
for (const s of all) {
  const expected = { a: ["from N"], b: ["from A", "from N"], c: ["from A", "from N"], n: ["from A"] }[s.name];
  // A round trip through Redis first: a request answered by every server.
  await s.emitWithAck("rooms");
  assert.deepEqual((await s.emitWithAck("heard")).sort(), expected, `heard by ${s.name}`);
}
steps.push("server_side_emit");

// Server-side emit with acks: the other servers answer.
assert.deepEqual(await a.emitWithAck("sse-ack"), ["B", "C", "N"], "sse-ack from A");
assert.deepEqual(await n.emitWithAck("sse-ack"), ["A", "B", "C"], "sse-ack from N");
steps.push("server_side_emit_with_ack");

// Broadcast with acks: every client answers.
for (const o of origins) {
  const acks = await o.emitWithAck("bcast-ack", { timeout: 3000 });
  assert.deepEqual(acks, ["a-ack", "b-ack", "c-ack", "n-ack"], `acks asked by ${o.name}`);
}
// With a client that does not answer: the others' acks, and the timeout (Rust gives partial
// results, Node fails as a whole, both once the timeout has struck).
c.on("q-slow", () => {});
for (const s of [a, b, n]) s.on("q-slow", (cb) => cb(`${s.name}-ack`));
let started = Date.now();
assert.deepEqual(
  await a.emitWithAck("bcast-ack", { timeout: 500, event: "q-slow" }),
  ["a-ack", "b-ack", "n-ack", "timeout"],
  "partial acks asked by a",
);
assert.ok(Date.now() - started >= 450, "the timeout struck");
started = Date.now();
assert.match((await n.emitWithAck("bcast-ack", { timeout: 500, event: "q-slow" })).error, /timed out/);
assert.ok(Date.now() - started >= 450, "the timeout struck");
// Binary answers (msgpack `bin` in the type-9 replies).
for (const s of all) s.on("q-bin", (cb) => cb(Buffer.from([s.name.charCodeAt(0), 1])));
const binAcks = all.map((s) => `bin:${s.name.charCodeAt(0)},1`).sort();
for (const o of origins) {
  assert.deepEqual(await o.emitWithAck("bcast-ack", { timeout: 3000, event: "q-bin" }), binAcks, `binary acks for ${o.name}`);
}
steps.push("broadcast_with_ack", "broadcast_with_ack timeout", "broadcast_with_ack binary answers");

// Remote join and leave.
const roomsOf = async (o, who) => (await o.emitWithAck("fetch", null)).find((s) => s.name === who).rooms;
await a.emitWithAck("remote-join", { room: "r2", join: "r3" }); // Rust makes b (Rust) join
await a.emitWithAck("remote-join", { room: "r1", join: "r4" }); // and a, n join r4
await n.emitWithAck("remote-join", { room: "r2", join: "r5" }); // Node makes b join r5
await a.emitWithAck("rooms"); // a round trip through Redis: the joins have been applied
await n.emitWithAck("rooms");
assert.deepEqual(await roomsOf(n, "b"), ["r2", "r3", "r5"], "b's rooms seen from N");
assert.deepEqual(await roomsOf(a, "n"), ["r1", "r4"], "n's rooms seen from A");
await n.emitWithAck("remote-leave", { room: "r4", leave: "r4" });
await a.emitWithAck("remote-leave", { room: "r2", leave: "r5" });
await a.emitWithAck("rooms");
await n.emitWithAck("rooms");
assert.deepEqual(await roomsOf(a, "a"), ["r1"], "a left r4 (Node asked)");
assert.deepEqual(await roomsOf(n, "b"), ["r2", "r3"], "b left r5 (Rust asked)");
steps.push("sockets_join", "sockets_leave");

// The emitter reaches the Rust sockets: broadcasts (binary too), rooms, joins, server-side.
const redis = createClient({ url: args.redis });
await redis.connect();
const emitter = new Emitter(redis);
emitter.emit("e-hello", "from emitter", Buffer.from([0xde, 0xad]));
emitter.to("r3").emit("e-room", "r3 only");
for (const s of all) {
  const got = await received(s, "e-hello");
  assert.equal(got[0], "from emitter");
  assert.deepEqual([...new Uint8Array(got[1])], [0xde, 0xad]);
}
assert.deepEqual(await received(b, "e-room"), ["r3 only"]);
emitter.in("r3").socketsJoin("r6");
emitter.serverSideEmit("hello", "from emitter");
await a.emitWithAck("rooms");
assert.deepEqual(await roomsOf(a, "b"), ["r2", "r3", "r6"], "the emitter made b join r6");
for (const s of rust) {
  await s.emitWithAck("rooms");
  assert.ok((await s.emitWithAck("heard")).includes("from emitter"), `${s.name} heard the emitter`);
}
steps.push("emitter");

// Disconnects, last: Node disconnects c (Rust), Rust disconnects n (Node).
await n.emitWithAck("join", "r7");
await c.emitWithAck("join", "r8");
await n.emitWithAck("remote-disconnect", { room: "r8" });
await disconnected(c);
await a.emitWithAck("remote-disconnect", { room: "r7" });
await disconnected(n);
assert.deepEqual((await a.emitWithAck("fetch", null)).map((s) => s.name), ["a", "b"]);
steps.push("disconnect_sockets");

clearTimeout(timer);
for (const s of all) s.close();
await redis.quit();
console.log(JSON.stringify({ ok: true, steps }));
process.exit(0);
