// Checks the chat example as a cluster (tests/redis_cluster.rs): two chat servers on one Redis,
// alice on the first, bob on the second, with the official socket.io-client.
//
//   node tests/clients/chat_cluster_client.mjs --a http://127.0.0.1:PORT_A --b http://127.0.0.1:PORT_B
//
// Joins list the members of both servers, `user joined` / `user left` and messages cross
// servers, the REST API of each server sees the rooms and members of both.
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { createRequire } from "node:module";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const args = {};
for (let i = 2; i < process.argv.length; i++) args[process.argv[i].slice(2)] = process.argv[++i];
const timer = setTimeout(() => fail("timed out after 30 s"), 30000);

function fail(msg) {
  process.stderr.write(`FAIL [chat_cluster_client.mjs]: ${msg}\n`);
  process.exit(1);
}
process.on("unhandledRejection", (e) => fail(e && e.stack ? e.stack : String(e)));

async function member(url, name) {
  const s = io(url, { auth: { name }, forceNew: true, reconnection: false });
  s.got = [];
  s.waiters = [];
  s.onAny((event, ...a) => {
    s.got.push([event, ...a]);
    s.waiters = s.waiters.filter((w) => !w());
  });
  await new Promise((resolve) => {
    s.once("connect", resolve);
    s.once("connect_error", (e) => fail(`${name}: connect_error ${e.message}`));
  });
  return s;
}

/// The next event of `s`: it must be `event`; resolves with its first argument.
function next(s, event) {
  return new Promise((resolve) => {
    const check = () => {
      if (s.got.length === 0) return false;
      const [e, arg] = s.got.shift();
      if (e !== event) fail(`expected ${event}, got ${e} ${JSON.stringify(arg)}`);
      resolve(arg);
      return true;
    };
    if (!check()) s.waiters.push(check);
  });
}

const alice = await member(args.a, "alice");
const bob = await member(args.b, "bob");

assert.deepEqual(await alice.emitWithAck("join", "lobby"), { room: "lobby", members: ["alice"] });
assert.deepEqual(await bob.emitWithAck("join", "lobby"), { room: "lobby", members: ["alice", "bob"] });
assert.deepEqual(await next(alice, "user joined"), { room: "lobby", name: "bob" });

assert.deepEqual(await bob.emitWithAck("message", { room: "lobby", text: "hi alice" }), { ok: true });
const m = await next(alice, "message");
assert.equal(m.from, "bob");
assert.equal(m.text, "hi alice");

for (const url of [args.a, args.b]) {
  const rooms = await (await fetch(`${url}/api/rooms`)).json();
  assert.deepEqual(rooms, [{ name: "lobby", members: 2 }], `rooms seen by ${url}`);
}
const res = await fetch(`${args.a}/api/rooms/lobby/announce`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ text: "from the server" }),
});
assert.equal(res.status, 202);
assert.deepEqual(await res.json(), { recipients: 2 });
for (const s of [alice, bob]) {
  const a = await next(s, "message");
  assert.equal(a.from, "server");
}

bob.close();
assert.deepEqual(await next(alice, "user left"), { room: "lobby", name: "bob" });

clearTimeout(timer);
alice.close();
console.log(JSON.stringify({ ok: true }));
process.exit(0);
