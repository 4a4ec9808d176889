// Checks two servers linked by an adapter (tests/cluster.rs) with the official socket.io-client:
// one client on each server.
//
//   node tests/clients/cluster_client.mjs --a http://127.0.0.1:PORT_A --b http://127.0.0.1:PORT_B
//
// Each server's namespace `/` handles: `count` (acks io.server_count()), `ask-cluster` (acks the
// answers of the other servers' `who` listeners to io.server_side_emit_with_ack("who", arg)),
// `tell-cluster` (io.server_side_emit("note", arg); each other server's `note` listener emits
// `noted` to its own sockets), `shout` (io.emit("shout", arg), to every socket of every server)
// and `everyone` (acks the ids of io.fetch_sockets(), across servers).
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { createRequire } from "node:module";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const args = {};
for (let i = 2; i < process.argv.length; i++) args[process.argv[i].slice(2)] = process.argv[++i];
const timer = setTimeout(() => fail("timed out after 20 s"), 20000);

function fail(msg) {
  process.stderr.write(`FAIL [cluster_client.mjs]: ${msg}\n`);
  process.exit(1);
}

/// A connected client that records every event it receives.
async function client(url, label) {
  const s = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  s.label = label;
  s.got = [];
  s.waiters = [];
  s.onAny((event, ...a) => {
    s.got.push([event, ...a]);
    s.waiters = s.waiters.filter((w) => !w());
  });
  s.on("disconnect", (r) => s.closing || fail(`${label}: unexpected disconnect (${r})`));
  await new Promise((resolve) => {
    s.once("connect", resolve);
    s.once("connect_error", (e) => fail(`${label}: connect_error ${e.message}`));
  });
  return s;
}

/// Resolves when `s` has received `event`; returns its arguments.
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

const a = await client(args.a, "client of A");
const b = await client(args.b, "client of B");

assert.equal(await a.emitWithAck("count"), 2, "server count seen from A");
assert.equal(await b.emitWithAck("count"), 2, "server count seen from B");

// Server-side emit with acknowledgements: only the other server answers.
assert.deepEqual(await a.emitWithAck("ask-cluster", "a"), ["B hears a"]);
assert.deepEqual(await b.emitWithAck("ask-cluster", "b"), ["A hears b"]);

// Server-side emit without: B's listener tells its own sockets; A does not hear itself.
a.emit("tell-cluster", "hello");
assert.deepEqual(await received(b, "noted"), ["hello"]);
await a.emitWithAck("count"); // a round trip: a `noted` to A's sockets would have come first
assert.equal(a.got.find(([e]) => e === "noted"), undefined, "A's listener heard A");

// A broadcast reaches the sockets of both servers, once each.
a.emit("shout", "x");
assert.deepEqual(await received(a, "shout"), ["x"]);
assert.deepEqual(await received(b, "shout"), ["x"]);

// fetch_sockets sees the sockets of both servers.
const ids = await a.emitWithAck("everyone");
assert.deepEqual([...ids].sort(), [a.id, b.id].sort());

await b.emitWithAck("count");
for (const s of [a, b]) {
  assert.equal(s.got.filter(([e]) => e === "shout").length, 1, `${s.label}: shouts`);
  s.closing = true;
  s.disconnect();
}
clearTimeout(timer);
process.stdout.write(JSON.stringify({ ok: true, sockets: ids.length }) + "\n");
setTimeout(() => process.exit(0), 200).unref();
