// The benchmark's reference server: the official Node Socket.IO server, the same handlers as the
// Rust servers (benches/servers/src/bin).
//
// Run with `npm install` once in this folder, then `node server.mjs --port 0`
// (optional `--ping-interval-ms N`, default 25000, and `--ping-timeout-ms N`, default 20000); it
// prints `LISTENING <port>` when ready, bound to 127.0.0.1 only. Socket.IO at `/socket.io/`,
// namespace `/`: `echo` with an ack answers with its argument, `broadcast` emits `bcast` with its
// argument to every other socket.

import { createServer } from "node:http";
import { Server } from "socket.io";

function parseArgs(argv) {
  const opts = { port: undefined, pingInterval: 25000, pingTimeout: 20000 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
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
  process.stderr.write("usage: node server.mjs --port P [--ping-interval-ms N] [--ping-timeout-ms N]\n");
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
