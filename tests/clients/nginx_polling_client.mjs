// Two servers of a Redis cluster behind nginx with the README's recipe (`ip_hash`): clients on
// HTTP long-polling only, each from its own loopback address (127.0.X.1, which ip_hash tells
// apart), stay on one server for their whole session, the clients reach both servers, and a
// broadcast from one server reaches the clients of both through nginx (tests/redis_cluster.rs).
//
//   node tests/clients/nginx_polling_client.mjs --url http://127.0.0.1:NGINX_PORT
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { createRequire } from "node:module";
import http from "node:http";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const args = {};
for (let i = 2; i < process.argv.length; i++) args[process.argv[i].slice(2)] = process.argv[++i];
const timer = setTimeout(() => fail("timed out after 30 s"), 30000);

function fail(msg) {
  process.stderr.write(`FAIL [nginx_polling_client.mjs]: ${msg}\n`);
  process.exit(1);
}
process.on("unhandledRejection", (e) => fail(e && e.stack ? e.stack : String(e)));

async function client(from) {
  const s = io(args.url, {
    transports: ["polling"],
    forceNew: true,
    reconnection: false,
    query: { name: from },
    agent: new http.Agent({ keepAlive: true, localAddress: from }),
  });
  s.got = [];
  s.waiters = [];
  s.onAny((event, ...a) => {
    s.got.push([event, ...a]);
    s.waiters = s.waiters.filter((w) => !w());
  });
  s.on("disconnect", (r) => s.closing || fail(`${from}: unexpected disconnect (${r})`));
  await new Promise((resolve) => {
    s.once("connect", resolve);
    s.once("connect_error", (e) => fail(`${from}: connect_error ${e.message}`));
  });
  return s;
}

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

const clients = [];
for (let x = 0; x < 8; x++) clients.push(await client(`127.0.${x}.1`));
const servers = new Set();
for (const s of clients) {
  // Several polling round trips: each must reach the server that holds the session.
  const first = await s.emitWithAck("whoami");
  for (let i = 0; i < 3; i++) assert.equal(await s.emitWithAck("whoami"), first);
  servers.add(first);
}
assert.deepEqual([...servers].sort(), ["A", "B"], "the clients reach both servers");

assert.equal(await clients[0].emitWithAck("bcast", { event: "through-nginx", data: "hi" }), true);
for (const s of clients) assert.deepEqual(await received(s, "through-nginx"), ["hi"]);

clearTimeout(timer);
for (const s of clients) {
  s.closing = true;
  s.close();
}
console.log(JSON.stringify({ ok: true, servers: [...servers].sort() }));
process.exit(0);
