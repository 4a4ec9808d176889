// Drives the official socket.io-client against the operations test server (tests/metrics.rs,
// tests/spans.rs): connects, emits and leaves, so that the test can check the spans and the
// metrics the server recorded.
//
//   node tests/clients/ops_client.mjs --url http://127.0.0.1:PORT --upgrade N --polling M
//        [--flood 1] [--timeout MS]
//
// 1. N sockets that upgrade to WebSocket (each waits for its upgrade) and M that stay on polling;
//    then, over the first one's session, a connection to `/guarded` refused by its middleware
//    (auth without a name).
// 2. Each socket: `sum` with an ack (1 + 2 = 3), `chat` (answered with `chat`), `ask` (the
//    server asks the client `question` with an ack, and answers `ask` with the client's answer).
// 3. The first socket emits `shout`: every other socket must receive `heard`. It also emits
//    `boom` and `boom-async` (handlers that panic), then `sum` once more.
// 4. Each engine waits for one heartbeat ping (the server samples queues then).
// 5. With `--flood 1`, one more socket (WebSocket only) emits `flood` and waits to be
//    disconnected by the server (its queue overflows).
// 6. Prints `{"connected": [socket ids], "sids": [engine ids]}` and waits for a line `leave` on
//    stdin; then closes every connection and prints `{"left": true}` once all are closed.
//
// Every connection is new (`forceNew`) and never reconnects. Exits 1 with a message on stderr on
// any failure; an overall timeout (default 20000 ms) ends the run.
import { io } from "socket.io-client";
import { createInterface } from "node:readline";

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) fail(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[++i];
}
const url = args.url;
const upgrade = Number(args.upgrade ?? 1);
const polling = Number(args.polling ?? 0);
const flood = Number(args.flood ?? 0);
const timer = setTimeout(() => fail("timed out"), Number(args.timeout ?? 20000));

function fail(msg) {
  process.stderr.write(`FAIL [ops_client.mjs]: ${msg}\n`);
  process.exit(1);
}
if (!url) fail("--url is required");

const opts = (transports, name) => ({
  forceNew: true,
  reconnection: false,
  transports,
  auth: { name },
});

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, resolve));
}

/// A connection to `/guarded` refused by its middleware (auth without a name), over the session
/// of `s` (which stays open for `s`).
async function refused(s) {
  // Connects by itself (`autoConnect`).
  const g = s.io.socket("/guarded", { auth: { name: "" } });
  const err = await new Promise((resolve, reject) => {
    g.once("connect", () => reject(new Error("connected without a name")));
    g.once("connect_error", resolve);
  });
  if (err.message !== "a name is required") fail(`unexpected refusal ${err.message}`);
}

async function open(transports, upgrades) {
  const s = io(url, opts(transports, "a"));
  s.on("question", (...args) => args[args.length - 1](42));
  const upgraded = upgrades ? once(s.io, "open").then(() => once(s.io.engine, "upgrade")) : null;
  await once(s, "connect");
  if (upgraded) await upgraded;
  s.on("disconnect", (reason) => {
    if (!leaving && !(flood && s === flooder)) fail(`unexpected disconnect ${reason}`);
  });
  return s;
}

let leaving = false;
let flooder = null;

async function exercise(s) {
  const sum = await s.emitWithAck("sum", 1, 2);
  if (sum !== 3) fail(`sum: ${sum}`);
  const chat = once(s, "chat");
  s.emit("chat", { text: "hi" });
  const got = await chat;
  if (got.text !== "hi") fail(`chat: ${JSON.stringify(got)}`);
  const answer = await s.emitWithAck("ask");
  if (answer !== 42) fail(`ask: ${answer}`);
}

try {
  const sockets = [];
  for (let i = 0; i < upgrade; i++) sockets.push(await open(["polling", "websocket"], true));
  for (let i = 0; i < polling; i++) sockets.push(await open(["polling"], false));
  await refused(sockets[0]);
  for (const s of sockets) await exercise(s);
  const heard = sockets.slice(1).map((s) => once(s, "heard"));
  sockets[0].emit("shout", "hello");
  await Promise.all(heard);
  sockets[0].emit("boom");
  sockets[0].emit("boom-async");
  if ((await sockets[0].emitWithAck("sum", 2, 2)) !== 4) fail("sum after boom");
  await Promise.all(sockets.map((s) => once(s.io.engine, "ping")));
  if (flood) {
    flooder = await open(["websocket"], false);
    const gone = once(flooder, "disconnect");
    flooder.emit("flood");
    await gone;
  }
  console.log(JSON.stringify({
    connected: sockets.map((s) => s.id),
    sids: sockets.map((s) => s.io.engine.id),
  }));
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === "leave") break;
  }
  lines.close();
  leaving = true;
  const closed = sockets.map((s) => once(s.io.engine, "close"));
  // The transports close (a close packet by POST, or the WebSocket's Close): the server sees
  // a transport close.
  for (const s of sockets) s.io.engine.close();
  await Promise.all(closed);
  console.log(JSON.stringify({ left: true }));
  clearTimeout(timer);
} catch (e) {
  fail(e?.stack ?? String(e));
}
