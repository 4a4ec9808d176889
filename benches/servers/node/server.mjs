// The benchmark's reference server: the official Node Socket.IO server, the same handlers as the
// Rust servers (benches/servers/src/bin).
//
// Run with `npm install` once in this folder, then `node server.mjs --port 0`
// (optional `--ping-interval-ms N`, default 25000, `--ping-timeout-ms N`, default 20000, and
// `--redis URL` to join the cluster of that Redis through `@socket.io/redis-adapter` on
// node-redis); it prints `LISTENING <port>` when ready, bound to 127.0.0.1 only. Socket.IO at
// `/socket.io/`, namespace `/`: `echo` with an ack answers with its argument, `broadcast` emits
// `bcast` with its argument to every other socket.

import { createServer } from "node:http";
import { Server } from "socket.io";

function parseArgs(argv) {
  const opts = { port: undefined, pingInterval: 25000, pingTimeout: 20000, redis: undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === "--redis") {
      if (value === undefined) throw new Error("--redis needs a URL");
      opts.redis = value;
      continue;
    }
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 0) {
      throw new Error(`${flag} needs a non-negative integer, got ${value}`);
    }
    if (flag === "--port") opts.port = n;
    else if (flag === "--ping-interval-ms") opts.pingInterval = Math.max(n, 1);
    else if (flag === "--ping-timeout-ms") opts.pingTimeout = Math.max(n, 1);
    else throw new Error(`unknown argument ${flag}`);
  }
  if (opts.port === undefined || opts.port > 65535) throw new Error("--port P is required");
  return opts;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`server.mjs: ${e.message}\n`);
  process.stderr.write("usage: node server.mjs --port P [--ping-interval-ms N] [--ping-timeout-ms N] [--redis URL]\n");
  process.exit(2);
}

// Nagle off on every connection (Node's default, set here for the record; the Rust servers do the
// same).
const httpServer = createServer({ noDelay: true });
const io = new Server(httpServer, {
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  serveClient: false,
});

if (opts.redis !== undefined) {
  // The adapter and its client are loaded only for a cluster, so the single-node runs load
  // exactly what they did before.
  const { createClient } = await import("redis");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const pubClient = createClient({ url: opts.redis });
  const subClient = pubClient.duplicate();
  for (const c of [pubClient, subClient]) {
    c.on("error", (e) => process.stderr.write(`redis: ${e.message}\n`));
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
}

io.on("connection", (socket) => {
  socket.on("echo", (arg, ack) => {
    if (typeof ack === "function") ack(arg);
  });
  socket.on("broadcast", (arg) => {
    socket.broadcast.emit("bcast", arg);
  });
});

httpServer.listen(opts.port, "127.0.0.1", () => {
  // The one line that tells the harness the server is ready (writes to a pipe or a file are
  // synchronous in Node on Linux: nothing is left to flush).
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
});
