// Drives the official engine.io-client against an Engine.IO echo server (each message comes
// back to its sender, text as text, binary as binary) and checks one scenario.
//
//   node tests/clients/engine_client.mjs --url http://127.0.0.1:PORT --path /engine.io/ \
//        --mode polling|websocket|upgrade --scenario text|binary|empty|order|large|upgrade_burst|concurrent
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise.
import { Socket } from "engine.io-client";
import { randomBytes } from "node:crypto";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const { url, mode, scenario } = args;
const path = args.path ?? "/engine.io/";
const timer = setTimeout(() => fail(`timed out in scenario ${scenario}`), Number(args.timeout ?? 20000));

function fail(msg) {
  process.stderr.write(`FAIL [${mode}/${scenario}]: ${msg}\n`);
  process.exit(1);
}
function done(summary) {
  clearTimeout(timer);
  process.stdout.write(JSON.stringify({ ok: true, mode, scenario, ...summary }) + "\n");
  process.exit(0);
}

function open() {
  const transports = mode === "polling" ? ["polling"] : mode === "websocket" ? ["websocket"] : ["polling", "websocket"];
  const socket = new Socket(url, { path, transports, upgrade: mode === "upgrade" });
  socket.on("error", (e) => fail(`socket error: ${e?.message ?? e}`));
  return socket;
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

function opened(socket) {
  return new Promise((resolve) => socket.once("open", resolve));
}

/// Resolves when the upgrade is done (at once for the other modes).
function upgraded(socket) {
  if (mode !== "upgrade" || socket.transport.name === "websocket") return Promise.resolve();
  return new Promise((resolve) => socket.once("upgrade", resolve));
}

function sameBytes(a, b) {
  return Buffer.isBuffer(a) && Buffer.compare(a, Buffer.from(b)) === 0;
}

function checkTransport(socket) {
  const expected = mode === "polling" ? "polling" : "websocket";
  if (socket.transport.name !== expected) fail(`transport is ${socket.transport.name}, expected ${expected}`);
}

async function echoOrder(socket, n, prefix) {
  const echoes = collect(socket, n);
  for (let i = 0; i < n; i++) socket.send(`${prefix}${i}`);
  const got = await echoes;
  got.forEach((m, i) => {
    if (m !== `${prefix}${i}`) fail(`message ${i} is ${JSON.stringify(m)}`);
  });
}

const scenarios = {
  async text() {
    const s = open();
    await opened(s);
    await upgraded(s);
    const sent = ["hello", "héllo ☃ 😀", '{"json":[1,2]}'];
    const echoes = collect(s, sent.length);
    sent.forEach((m) => s.send(m));
    const got = await echoes;
    sent.forEach((m, i) => got[i] === m || fail(`echo ${i}: ${JSON.stringify(got[i])} != ${JSON.stringify(m)}`));
    checkTransport(s);
    s.close();
    return { messages: got.length };
  },
  async binary() {
    const s = open();
    await opened(s);
    await upgraded(s);
    const a = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const b = randomBytes(64 * 1024);
    const echoes = collect(s, 2);
    s.send(a);
    s.send(b);
    const got = await echoes;
    if (!sameBytes(got[0], a)) fail("0..255 not echoed as the same binary");
    if (!sameBytes(got[1], b)) fail("64 KiB buffer not echoed as the same binary");
    checkTransport(s);
    s.close();
    return { bytes: got[0].length + got[1].length };
  },
  async empty() {
    const s = open();
    await opened(s);
    await upgraded(s);
    const echoes = collect(s, 2);
    s.send("");
    s.send(Buffer.alloc(0));
    const got = await echoes;
    // engine.io-parser decodes the packet `4` (an empty text message) with no data at all.
    if (got[0] !== "" && got[0] !== undefined) fail(`empty string echoed as ${JSON.stringify(got[0])}`);
    if (!Buffer.isBuffer(got[1]) || got[1].length !== 0) fail(`empty buffer echoed as ${JSON.stringify(got[1])}`);
    s.close();
    return {};
  },
  async order() {
    const s = open();
    await opened(s);
    await upgraded(s);
    await echoOrder(s, 2000, "m");
    checkTransport(s);
    s.close();
    return { messages: 2000 };
  },
  async large() {
    const s = open();
    await opened(s);
    await upgraded(s);
    const big = "x".repeat(600 * 1024 - 7) + "☃end";
    const echoes = collect(s, 1);
    s.send(big);
    const [got] = await echoes;
    if (got !== big) fail(`large message came back with length ${got?.length}`);
    s.close();
    return { length: big.length };
  },
  async upgrade_burst() {
    if (mode !== "upgrade") fail("upgrade_burst needs --mode upgrade");
    const s = open();
    await opened(s);
    const got = [];
    let sent = 0;
    let upgradedAt = null;
    s.on("message", (m) => got.push(m));
    s.once("upgrade", () => (upgradedAt = sent));
    // Send in small batches from `open` until 200 messages after the upgrade.
    await new Promise((resolve) => {
      const tick = () => {
        for (let i = 0; i < 5; i++) s.send(`u${sent++}`);
        if (upgradedAt !== null && sent >= upgradedAt + 200) resolve();
        else setImmediate(tick);
      };
      tick();
    });
    await new Promise((resolve) => {
      const check = () => (got.length >= sent ? resolve() : setTimeout(check, 5));
      check();
    });
    if (got.length !== sent) fail(`${got.length} echoes for ${sent} messages`);
    got.forEach((m, i) => m === `u${i}` || fail(`echo ${i} is ${m}`));
    if (upgradedAt === 0) fail("the upgrade finished before anything was sent");
    checkTransport(s);
    s.close();
    return { sent, upgradedAt };
  },
  async concurrent() {
    const sockets = Array.from({ length: 30 }, () => open());
    await Promise.all(sockets.map(opened));
    await Promise.all(sockets.map(upgraded));
    const ids = new Set(sockets.map((s) => s.id));
    if (ids.size !== 30) fail(`only ${ids.size} distinct session ids`);
    await Promise.all(sockets.map((s, k) => echoOrder(s, 20, `c${k}-`)));
    sockets.forEach((s) => s.close());
    return { sessions: ids.size };
  },
};

const run = scenarios[scenario] ?? (() => fail(`unknown scenario ${scenario}`));
run().then(done, (e) => fail(e?.stack ?? String(e)));
