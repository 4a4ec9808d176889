// Drives the official engine.io-client (its `Socket`) against an Engine.IO echo server (each
// message comes back to its sender, text as text, binary as binary) and checks one scenario.
//
//   node tests/clients/engine_client.mjs --url http://127.0.0.1:PORT --path /engine.io/ \
//        --mode polling|websocket|upgrade \
//        --scenario text|binary|empty|order|large|upgrade_burst|concurrent [--timeout MS]
//
// Modes: polling = transports ["polling"]; websocket = ["websocket"]; upgrade = ["polling",
// "websocket"] with upgrade on, and the run fails unless the `upgrade` event fired and the socket
// ends on the WebSocket.
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise. An
// overall timeout (default 20000 ms) ends the run.
//
// Client behaviour worth knowing (engine.io-client 6.x):
// - An empty text message (the packet `4`) is emitted as `message` with `undefined`, not "", on
//   both transports (engine.io-parser keeps no data for a one-character packet).
// - In upgrade mode the client probes right after `open`; once the probe is answered it pauses
//   polling (waits for the in-flight GET and POST to end) and buffers what is sent meanwhile,
//   then flushes it on the WebSocket. How much upgrade_burst sends before `upgrade` depends on
//   whether a POST was in flight: from about 20 to about 90,000 messages (`upgradedAt`).
import { Socket } from "engine.io-client";
import { randomBytes } from "node:crypto";

const MODES = ["polling", "websocket", "upgrade"];
const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) fail(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[++i];
}
const { url, mode, scenario } = args;
const path = args.path ?? "/engine.io/";
const timeoutMs = Number(args.timeout ?? 20000);
const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);

if (!url) fail("--url is required");
if (!MODES.includes(mode)) fail(`--mode must be one of ${MODES.join("|")}`);
const expectedTransport = mode === "polling" ? "polling" : "websocket";

function fail(msg) {
  process.stderr.write(`FAIL [${mode}/${scenario}]: ${msg}\n`);
  process.exit(1);
}
function done(summary) {
  clearTimeout(timer);
  const line = { ok: true, client: "engine.io-client", mode, scenario, transport: expectedTransport, ...summary };
  process.stdout.write(JSON.stringify(line) + "\n");
  process.exit(0);
}

/// A new socket for the mode; any error or unexpected close fails the run.
function open() {
  const transports = mode === "polling" ? ["polling"] : mode === "websocket" ? ["websocket"] : ["polling", "websocket"];
  const socket = new Socket(url, { path, transports, upgrade: mode === "upgrade" });
  socket.closing = false;
  socket.on("error", (e) => fail(`socket error: ${e?.message ?? e}`));
  socket.on("close", (reason, desc) => {
    if (!socket.closing) fail(`session ${socket.id} closed: ${reason} ${desc?.message ?? desc ?? ""}`);
  });
  return socket;
}

function close(socket) {
  socket.closing = true;
  socket.close();
}

function opened(socket) {
  return new Promise((resolve) => socket.once("open", resolve));
}

/// Resolves when the upgrade is done (at once for the other modes).
function upgraded(socket) {
  if (mode !== "upgrade" || socket.transport.name === "websocket") return Promise.resolve();
  return new Promise((resolve) => socket.once("upgrade", resolve));
}

/// A socket that is open and, in upgrade mode, upgraded.
async function ready() {
  const s = open();
  await opened(s);
  await upgraded(s);
  return s;
}

/// Resolves with the next `n` messages of `socket`.
function collect(socket, n) {
  return new Promise((resolve) => {
    const got = [];
    const on = (m) => {
      got.push(m);
      if (got.length === n) {
        socket.off("message", on);
        resolve(got);
      }
    };
    socket.on("message", on);
  });
}

function sameBytes(a, b) {
  return (Buffer.isBuffer(a) || a instanceof ArrayBuffer) && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

function describe(m) {
  if (m === undefined) return "undefined";
  if (typeof m === "string") return m.length > 40 ? `string of length ${m.length}` : JSON.stringify(m);
  return `${m?.constructor?.name} of length ${m?.byteLength ?? m?.length}`;
}

function checkTransport(socket) {
  if (socket.transport.name !== expectedTransport) {
    fail(`transport is ${socket.transport.name}, expected ${expectedTransport}`);
  }
}

async function echoOrder(socket, n, prefix) {
  const echoes = collect(socket, n);
  for (let i = 0; i < n; i++) socket.send(`${prefix}${i}`);
  const got = await echoes;
  got.forEach((m, i) => m === `${prefix}${i}` || fail(`echo ${i} is ${describe(m)}, expected ${prefix}${i}`));
}

const scenarios = {
  async text() {
    const s = await ready();
    const sent = ["hello", "héllo ☃ 😀", '{"json":[1,"two",{"3":null}]}'];
    const echoes = collect(s, sent.length);
    sent.forEach((m) => s.send(m));
    const got = await echoes;
    sent.forEach((m, i) => got[i] === m || fail(`echo ${i}: ${describe(got[i])} != ${JSON.stringify(m)}`));
    checkTransport(s);
    close(s);
    return { messages: got.length };
  },
  async binary() {
    const s = await ready();
    const a = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const b = randomBytes(64 * 1024);
    const echoes = collect(s, 2);
    s.send(a);
    s.send(b);
    const got = await echoes;
    if (!sameBytes(got[0], a)) fail(`0..255 echoed as ${describe(got[0])}`);
    if (!sameBytes(got[1], b)) fail(`64 KiB buffer echoed as ${describe(got[1])}`);
    checkTransport(s);
    close(s);
    return { bytes: got[0].length + got[1].length };
  },
  async empty() {
    const s = await ready();
    const echoes = collect(s, 2);
    s.send("");
    s.send(Buffer.alloc(0));
    const got = await echoes;
    // engine.io-parser decodes the one-character packet `4` with no data on polling.
    if (got[0] !== "" && got[0] !== undefined) fail(`empty string echoed as ${describe(got[0])}`);
    if (!sameBytes(got[1], Buffer.alloc(0))) fail(`empty buffer echoed as ${describe(got[1])}`);
    checkTransport(s);
    close(s);
    return { emptyText: describe(got[0]) };
  },
  async order() {
    const s = await ready();
    await echoOrder(s, 2000, "m");
    checkTransport(s);
    close(s);
    return { messages: 2000 };
  },
  async large() {
    const s = await ready();
    const big = "x".repeat(600 * 1024 - 7) + "☃end";
    const echoes = collect(s, 1);
    s.send(big);
    const [got] = await echoes;
    if (got !== big) fail(`large message echoed as ${describe(got)}`);
    checkTransport(s);
    close(s);
    return { length: big.length };
  },
  async upgrade_burst() {
    if (mode !== "upgrade") fail("upgrade_burst needs --mode upgrade");
    const s = open();
    const got = [];
    let sent = 0;
    let upgradedAt = null;
    s.on("message", (m) => got.push(m));
    s.once("upgrade", () => (upgradedAt = sent));
    await opened(s);
    // Small batches, one per turn of the event loop, from `open` until 200 after the upgrade.
    await new Promise((resolve) => {
      const tick = () => {
        for (let i = 0; i < 5; i++) s.send(`u${sent++}`);
        if (upgradedAt !== null && sent >= upgradedAt + 200) resolve();
        else if (sent >= 500000) fail(`no upgrade after ${sent} messages`);
        else setImmediate(tick);
      };
      tick();
    });
    await new Promise((resolve) => {
      const check = () => (got.length >= sent ? resolve() : setTimeout(check, 5));
      check();
    });
    // Let any duplicate arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (got.length !== sent) fail(`${got.length} echoes for ${sent} messages`);
    got.forEach((m, i) => m === `u${i}` || fail(`echo ${i} is ${describe(m)}, expected u${i}`));
    if (upgradedAt === 0) fail("the upgrade finished before anything was sent");
    checkTransport(s);
    close(s);
    return { sent, upgradedAt };
  },
  async concurrent() {
    const sockets = Array.from({ length: 30 }, () => open());
    await Promise.all(sockets.map(opened));
    await Promise.all(sockets.map(upgraded));
    const ids = new Set(sockets.map((s) => s.id));
    if (ids.size !== 30) fail(`only ${ids.size} distinct session ids for 30 sessions`);
    await Promise.all(sockets.map((s, k) => echoOrder(s, 20, `c${k}-`)));
    sockets.forEach(checkTransport);
    sockets.forEach(close);
    return { sessions: ids.size };
  },
};

const run = scenarios[scenario] ?? (() => fail(`unknown scenario ${scenario}`));
run().then(done, (e) => fail(e?.stack ?? String(e)));
