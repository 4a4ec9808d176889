// A Node Socket.IO server (npm socket.io 4.8.4) in a Redis cluster with the npm
// @socket.io/redis-adapter 8.3.0 (classic createAdapter, node-redis clients): the Node peer of
// tests/redis_cluster.rs. Its namespace `/` handles the same events as the Rust servers of that
// test, so the driver (tests/clients/redis_cluster_client.mjs) asks each server the same way.
//
//   node tests/clients/node_redis_server.mjs --redis redis://127.0.0.1:PORT --name N
//
// Prints `{"port":P}` once listening on 127.0.0.1; exits when stdin closes (its parent ended).
import { createRequire } from "node:module";
import http from "node:http";

const require = createRequire(import.meta.url);
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const args = {};
for (let i = 2; i < process.argv.length; i++) args[process.argv[i].slice(2)] = process.argv[++i];
const name = args.name || "N";

const pub = createClient({ url: args.redis });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on("error", (e) => process.stderr.write(`redis: ${e.message}\n`));
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = http.createServer();
const io = new Server(httpServer, {
  adapter: createAdapter(pub, sub, { requestsTimeout: 3000 }),
});

const heard = [];
io.on("hello", (data) => heard.push(data));
io.on("who", (cb) => cb(name));

const sorted = (a) => [...a].sort();

io.on("connection", (socket) => {
  socket.data = { server: name };
  socket.on("join", (room, cb) => {
    socket.join(room);
    cb(sorted(socket.rooms));
  });
  socket.on("bcast", ({ rooms, except, event, data, binary, date }, cb) => {
    let op = io;
    if (rooms) op = op.to(rooms);
    if (except) op = op.except(except);
    op.emit(event, binary ? Buffer.from(data) : date ? new Date(data) : data);
    cb(true);
  });
  socket.on("count", async (cb) => cb(await io.of("/").adapter.serverCount()));
  socket.on("rooms", async (cb) => cb(sorted(await io.of("/").adapter.allRooms())));
  socket.on("fetch", async (room, cb) => {
    try {
      const sockets = await (room ? io.in(room) : io).fetchSockets();
      cb(
        sockets
          .map((s) => ({
            name: s.handshake.query.name,
            rooms: sorted(s.rooms).filter((r) => r !== s.id),
            id: s.id,
            data: s.data,
          }))
          .sort((x, y) => (x.name < y.name ? -1 : 1)),
      );
    } catch (e) {
      cb({ error: e.message });
    }
  });
  socket.on("remote-emit", async ({ name: who, event, data }, cb) => {
    const sockets = await io.fetchSockets();
    const target = sockets.find((s) => s.handshake.query.name === who);
    target.emit(event, data);
    cb(true);
  });
  socket.on("sse", (data, cb) => {
    io.serverSideEmit("hello", data);
    cb(true);
  });
  socket.on("heard", (cb) => cb(heard));
  socket.on("sse-ack", async (cb) => {
    try {
      cb(sorted(await io.serverSideEmitWithAck("who")));
    } catch (e) {
      cb({ error: e.message });
    }
  });
  socket.on("remote-join", ({ room, join }, cb) => {
    io.in(room).socketsJoin(join);
    cb(true);
  });
  socket.on("remote-leave", ({ room, leave }, cb) => {
    io.in(room).socketsLeave(leave);
    cb(true);
  });
  socket.on("remote-disconnect", ({ room }, cb) => {
    io.in(room).disconnectSockets(true);
    cb(true);
  });
  socket.on("bcast-ack", async ({ timeout, event }, cb) => {
    try {
      const acks = await io.timeout(timeout).emitWithAck(event || "q");
      // Bytes as "bin:1,2", as the Rust servers write them.
      const bin = (a) => (typeof a === "string" ? a : `bin:${[...new Uint8Array(a)].join(",")}`);
      cb(sorted(acks.map(bin)));
    } catch (e) {
      cb({ error: e.message });
    }
  });
});

// A second namespace: its broadcasts stay in it.
io.of("/chat").on("connection", (socket) => {
  socket.on("bcast", ({ event, data }, cb) => {
    io.of("/chat").emit(event, data);
    cb(true);
  });
  socket.on("count", async (cb) => cb(await io.of("/chat").adapter.serverCount()));
});

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port }) + "\n");
});

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
