// Drives the official socket.io-client (and, for `no_namespace`, engine.io-client) against the
// Socket.IO test server of tests/common/sio.rs and checks one scenario.
//
//   node tests/clients/sio_client.mjs --url http://127.0.0.1:PORT \
//        --mode polling|websocket|upgrade --scenario NAME [--timeout MS] [--parser msgpack]
//
// `--parser msgpack` makes every connection use `socket.io-msgpack-parser` (the server must be
// built with the msgpack parser); the default is the client's own JSON parser.
//
// Scenarios: echo, acks, server_ack, binary, namespaces, order, large, concurrent, extract_fail,
// client_disconnect, server_disconnect, transport_close, ping_timeout, no_namespace,
// wait_disconnect, broadcast.
//
// The server's contract: namespaces `/`, `/admin` (auth {token: "secret"}, else CONNECT_ERROR
// "unauthorized" with data {code: 42}) and `/dyn-{id}`; any event without a handler is echoed to
// its sender (answered through the ack instead when one is asked for); `sum`, `sum-async`,
// `fail`, `nested`, `whoami`, `state`, `ask-me`, `ask-me-binary`, `ask-timeout`, `disconnect-me`,
// `ignore` (never answers its ack); on `/`, a per-event middleware refuses `forbidden`.
//
// Modes: polling = transports ["polling"]; websocket = ["websocket"]; upgrade = ["polling",
// "websocket"], and the run fails unless every socket ends on the WebSocket.
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise. An
// overall timeout (default 20000 ms) ends the run. Every connection is new (`forceNew`) and never
// reconnects, so a dropped connection fails the run instead of being papered over.
//
// `wait_disconnect` (for the server's graceful close) prints `{"connected": ID}` as soon as the
// socket is connected, then waits for the server to end it and prints the summary with the
// disconnect reason. `broadcast` (for the server's broadcasts) opens three sockets that answer
// `bcast` (n, buffer) through its ack with {k, n, bin}, prints `{"connected": [IDS]}`, and
// succeeds once each has received `bcast-end` with {n: 3, bin: <04 05 06>}. `no_namespace` opens a bare Engine.IO session at /socket.io/ that never
// sends a Socket.IO CONNECT, and succeeds when the server closes it within --within MS (5000).
import { io, Manager } from "socket.io-client";
import { Socket as EngineSocket } from "engine.io-client";
import { isDeepStrictEqual } from "node:util";
import msgpackParser from "socket.io-msgpack-parser";

const MODES = ["polling", "websocket", "upgrade"];
const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) fail(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[++i];
}
const { url, mode, scenario } = args;
const timeoutMs = Number(args.timeout ?? 20000);
const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);

if (!url) fail("--url is required");
if (!MODES.includes(mode)) fail(`--mode must be one of ${MODES.join("|")}`);
const transports = mode === "polling" ? ["polling"] : mode === "websocket" ? ["websocket"] : ["polling", "websocket"];
const expectedTransport = mode === "polling" ? "polling" : "websocket";

function fail(msg) {
  process.stderr.write(`FAIL [sio_client.mjs ${mode}/${scenario}]: ${msg}\n`);
  process.exit(1);
}

/// Every socket this run opened, closed at the end so that the process can exit by itself.
const opened = [];

function done(summary) {
  clearTimeout(timer);
  for (const s of opened) {
    s.expectClose = true;
    if (s.connected) s.disconnect();
  }
  const line = { ok: true, client: "socket.io-client", mode, scenario, transport: expectedTransport, parser: parserName, ...summary };
  process.stdout.write(JSON.stringify(line) + "\n");
  // Let the close packets go out, but never linger.
  process.exitCode = 0;
  setTimeout(() => process.exit(0), 1000).unref();
}

function assertEq(what, got, expected) {
  if (!isDeepStrictEqual(canon(got), canon(expected))) {
    fail(`${what}: got ${JSON.stringify(canon(got))}, expected ${JSON.stringify(canon(expected))}`);
  }
}

/// A comparable form: binary of any kind (Buffer, ArrayBuffer, typed array) becomes {$bin: hex}.
function canon(v) {
  if (Buffer.isBuffer(v)) return { $bin: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canon(x)]));
  return v;
}

const PARSERS = { json: undefined, msgpack: msgpackParser };
const parserName = args.parser ?? "json";
if (!(parserName in PARSERS)) fail(`--parser must be one of ${Object.keys(PARSERS).join("|")}`);
const parser = PARSERS[parserName] ? { parser: PARSERS[parserName] } : {};
const options = (extra = {}) => ({ transports, upgrade: mode === "upgrade", forceNew: true, reconnection: false, ...parser, ...extra });

/// Watches a socket: an error or a disconnect that the scenario did not announce fails the run.
function watch(socket, label) {
  opened.push(socket);
  socket.label = label;
  socket.expectClose = false;
  socket.on("disconnect", (reason, desc) => {
    if (!socket.expectClose) fail(`${label}: unexpected disconnect (${reason}) ${desc?.message ?? desc?.description ?? ""}`);
  });
  return socket;
}

/// Resolves on `connect`; fails the run on `connect_error`.
function connected(socket) {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (e) => fail(`${socket.label}: connect_error ${e?.message} ${JSON.stringify(e?.data)}`));
  });
}

/// A new connected socket on its own connection.
async function connect(nsp = "/", extra = {}) {
  return connected(watch(io(url + (nsp === "/" ? "" : nsp), options(extra)), nsp));
}

/// Resolves with the `connect_error` of a socket that must not connect.
function connectError(socket) {
  return new Promise((resolve) => {
    socket.once("connect", () => fail(`${socket.label}: connected, expected a connect_error`));
    socket.once("connect_error", (e) => resolve(e));
  });
}

/// The engine's transport, waiting for the upgrade in upgrade mode; fails when it is not the
/// expected one.
async function checkTransport(socket) {
  const engine = socket.io.engine;
  if (mode === "upgrade" && engine.transport.name !== "websocket") {
    await new Promise((resolve) => engine.once("upgrade", resolve));
  }
  if (engine.transport.name !== expectedTransport) {
    fail(`${socket.label}: transport is ${engine.transport.name}, expected ${expectedTransport}`);
  }
}

/// The next `n` arguments lists of `event` on `socket`.
function collect(socket, event, n) {
  const got = [];
  return new Promise((resolve) => {
    const on = (...a) => {
      got.push(a);
      if (got.length === n) {
        socket.off(event, on);
        resolve(got);
      }
    };
    socket.on(event, on);
  });
}

const once = (socket, event) => collect(socket, event, 1).then((all) => all[0]);

/// Emits with an ack and resolves with all the ack's arguments.
function ackArgs(socket, event, ...a) {
  return new Promise((resolve) => socket.emit(event, ...a, (...r) => resolve(r)));
}

const scenarios = {
  async echo() {
    const s = await connect();
    const sent = [1, "two", { three: [3] }, null, true, 2.5];
    const back = once(s, "mixed");
    s.emit("mixed", ...sent);
    assertEq("echo of mixed", await back, sent);
    await checkTransport(s);
    return { args: sent.length };
  },

  async acks() {
    const s = await connect();
    assertEq("sum ack", await s.emitWithAck("sum", 2, 3), 5);
    assertEq("sum-async ack", await s.emitWithAck("sum-async", 2, 3), 5);
    assertEq("echo through the ack", await ackArgs(s, "x", "a", { b: 1 }), ["a", { b: 1 }]);
    assertEq("fail ack", await s.emitWithAck("fail"), { message: "it failed" });
    assertEq("state ack", await s.emitWithAck("state"), "tsio");
    assertEq("whoami ack", await s.emitWithAck("whoami"), "/");
    assertEq("refused by the event middleware", await s.emitWithAck("forbidden", 1), { message: "not allowed" });
    // The client's own ack timeout, on an event the server never acks.
    const started = Date.now();
    const timedOut = await s.timeout(300).emitWithAck("ignore").then(
      (r) => fail(`ignore was acked with ${JSON.stringify(r)}`),
      (e) => e,
    );
    if (!/timed out/.test(timedOut?.message)) fail(`ignore: ${timedOut}`);
    assertEq("whoami after a timed out ack", await s.emitWithAck("whoami"), "/");
    await checkTransport(s);
    // The handshake record: query, auth, headers and address of the opening request.
    const h = await connect("/", { query: { x: "1" }, auth: { token: "t" }, extraHeaders: { "x-test": "yes" } });
    const seen = await h.emitWithAck("handshake");
    if (!seen.url.startsWith("/socket.io/?") || !seen.url.includes("x=1")) fail(`handshake url ${seen.url}`);
    const opening = mode === "websocket" ? "websocket" : "polling";
    assertEq("handshake", { ...seen, url: undefined }, {
      url: undefined, x: "1", transport: opening, auth: { token: "t" }, header: "yes",
      address: "127.0.0.1", secure: false, recent: true,
    });
    return { acks: 9, timeoutAfterMs: Date.now() - started };
  },

  async server_ack() {
    const s = await connect();
    let answering = true;
    const questions = [];
    s.on("question", (n, ack) => {
      questions.push(n);
      if (typeof ack !== "function") fail(`question ${n} came without an ack callback`);
      if (answering) ack(n * 2);
    });
    const answer = once(s, "answer");
    s.emit("ask-me", 21);
    assertEq("answer", await answer, [42]);

    answering = false;
    const error = once(s, "answer-error");
    s.emit("ask-timeout");
    const [msg] = await error;
    if (typeof msg !== "string" || !msg.includes("timed out")) fail(`answer-error is ${JSON.stringify(msg)}, expected "... timed out"`);
    assertEq("questions", questions, [21, 1]);
    await checkTransport(s);
    return { error: msg };
  },

  async binary() {
    const s = await connect();
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const sent = [all, { nested: [Buffer.from([1, 2]), "x"] }];
    const back = once(s, "bin");
    s.emit("bin", ...sent);
    const got = await back;
    assertEq("echo of bin", got, sent);
    if (!isBinary(got[0]) || !isBinary(got[1].nested[0])) fail("echoed buffers did not come back as binary");

    const buf = Buffer.from("ack me \u00ff", "latin1");
    const acked = await s.emitWithAck("bin-ack", buf);
    if (!isBinary(acked)) fail(`bin-ack answered with ${JSON.stringify(acked)}`);
    assertEq("bin-ack", acked, buf);

    const files = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.from([255])];
    const nested = await s.emitWithAck("nested", { name: "report", files });
    assertEq("nested", nested, { name: "REPORT", files });

    s.on("question-binary", (b, ack) => {
      assertEq("question-binary", b, Buffer.from([1, 2, 3]));
      ack(Buffer.from([9, 8, 7]));
    });
    const answer = once(s, "answer");
    s.emit("ask-me-binary");
    const [a] = await answer;
    if (!isBinary(a)) fail(`answer to ask-me-binary is ${JSON.stringify(a)}`);
    assertEq("binary answer", a, Buffer.from([9, 8, 7]));
    await checkTransport(s);
    return { buffers: 2 + 1 + files.length + 2 };
  },

  async namespaces() {
    const admin = await connect("/admin", { auth: { token: "secret" } });
    assertEq("whoami on /admin", await admin.emitWithAck("whoami"), "/admin");
    await checkTransport(admin);

    const wrong = watch(io(url + "/admin", options({ auth: { token: "wrong" } })), "/admin (wrong token)");
    const e1 = await connectError(wrong);
    if (e1.message !== "unauthorized") fail(`wrong token: connect_error message ${JSON.stringify(e1.message)}`);
    assertEq("wrong token: connect_error data", e1.data, { code: 42 });

    const nope = watch(io(url + "/nope", options()), "/nope");
    const e2 = await connectError(nope);
    if (e2.message !== "Invalid namespace") fail(`/nope: connect_error message ${JSON.stringify(e2.message)}`);

    const dyn = await connect("/dyn-7");
    assertEq("whoami on /dyn-7", await dyn.emitWithAck("whoami"), "/dyn-7");
    await checkTransport(dyn);

    // Two namespaces over one connection.
    const manager = new Manager(url, options());
    const main = watch(manager.socket("/"), "/ (shared)");
    const adm = watch(manager.socket("/admin", { auth: { token: "secret" } }), "/admin (shared)");
    await Promise.all([connected(main), connected(adm)]);
    assertEq("whoami on shared /", await main.emitWithAck("whoami"), "/");
    assertEq("whoami on shared /admin", await adm.emitWithAck("whoami"), "/admin");
    const engineId = manager.engine.id;
    if (main.io.engine !== adm.io.engine || main.io.engine.id !== engineId) fail("the two namespaces do not share one engine");
    if (!main.id || !adm.id || main.id === adm.id) fail(`socket ids not distinct: ${main.id} ${adm.id}`);
    if (main.id === engineId || adm.id === engineId) fail(`a socket id equals the engine id ${engineId}`);
    await checkTransport(main);
    const sockets = [main.id, adm.id];
    // Leaving one namespace keeps the other working on the same connection.
    adm.expectClose = true;
    adm.disconnect();
    assertEq("whoami on / after leaving /admin", await main.emitWithAck("whoami"), "/");
    if (manager.engine.id !== engineId) fail("the engine changed after leaving /admin");
    return { engine: engineId, sockets };
  },

  async order() {
    const s = await connect();
    const n = 1000;
    const got = [];
    s.on("seq", (i) => got.push(i));
    for (let i = 0; i < n; i++) s.emit("seq", i);
    await new Promise((resolve) => {
      const check = () => (got.length >= n ? resolve() : setTimeout(check, 5));
      check();
    });
    // A round trip after the last echo: any duplicate echo would have arrived before its ack.
    await s.emitWithAck("whoami");
    if (got.length !== n) fail(`${got.length} echoes for ${n} events`);
    for (let i = 0; i < n; i++) if (got[i] !== i) fail(`echo ${i} is ${JSON.stringify(got[i])}`);
    await checkTransport(s);
    return { events: n };
  },

  async large() {
    const s = await connect();
    const chunk = "0123456789abcdefghijklmnopqrstuvwxyz\u00e9\u2603";
    let big = "";
    while (big.length < 500 * 1024) big += chunk;
    big = big.slice(0, 500 * 1024);
    const back = once(s, "large");
    s.emit("large", big);
    const [got] = await back;
    if (got !== big) fail(`large string came back as ${typeof got} of length ${got?.length}`);
    await checkTransport(s);
    return { length: big.length };
  },

  async concurrent() {
    const n = 50;
    const ids = await Promise.all(
      Array.from({ length: n }, async (_, k) => {
        const s = await connect();
        const echoes = collect(s, "seq", 10);
        for (let i = 0; i < 10; i++) s.emit("seq", `${k}-${i}`);
        assertEq(`client ${k} echoes`, (await echoes).map((a) => a[0]), Array.from({ length: 10 }, (_, i) => `${k}-${i}`));
        await checkTransport(s);
        const id = s.id;
        s.expectClose = true;
        s.disconnect();
        return id;
      }),
    );
    if (new Set(ids).size !== n) fail(`only ${new Set(ids).size} distinct socket ids for ${n} clients`);
    return { clients: n };
  },

  async extract_fail() {
    const s = await connect();
    const r = await s.emitWithAck("sum", "a", "b");
    if (!r || typeof r.message !== "string" || !r.message.startsWith("invalid data")) fail(`sum("a", "b") answered ${JSON.stringify(r)}`);
    await checkTransport(s);
    return { error: r.message };
  },

  async client_disconnect() {
    const s = await connect();
    await checkTransport(s);
    const id = s.id;
    s.expectClose = true;
    const reason = once(s, "disconnect");
    s.disconnect();
    const [r] = await reason;
    if (r !== "io client disconnect") fail(`disconnect reason ${r}`);
    return { id };
  },

  async server_disconnect() {
    const s = await connect();
    await checkTransport(s);
    const id = s.id;
    s.expectClose = true;
    const reason = once(s, "disconnect");
    s.emit("disconnect-me");
    const [r] = await reason;
    if (r !== "io server disconnect") fail(`disconnect reason ${JSON.stringify(r)}, expected "io server disconnect"`);
    return { id, reason: r };
  },

  async transport_close() {
    const s = await connect();
    await checkTransport(s);
    const id = s.id;
    s.expectClose = true;
    const reason = once(s, "disconnect");
    s.io.engine.close();
    const [r] = await reason;
    return { id, reason: r };
  },

  // The client stops answering pings: the server must end the session (reason "ping timeout"
  // on its side; the client sees its transport close).
  async ping_timeout() {
    const s = await connect();
    await checkTransport(s);
    const id = s.id;
    const engine = s.io.engine;
    const send = engine._sendPacket.bind(engine);
    let dropped = 0;
    engine._sendPacket = (type, ...rest) => (type === "pong" ? void dropped++ : send(type, ...rest));
    s.expectClose = true;
    const [r] = await once(s, "disconnect");
    if (dropped === 0) fail(`disconnected (${r}) before any ping was left unanswered`);
    return { id, reason: r, dropped };
  },

  // For the graceful close test: announce the connection, then wait for the server to end it.
  async wait_disconnect() {
    const s = await connect();
    await checkTransport(s);
    s.expectClose = true;
    const reason = once(s, "disconnect");
    const id = s.id;
    process.stdout.write(JSON.stringify({ connected: id }) + "\n");
    const [r] = await reason;
    return { id, reason: r };
  },

  // For the broadcast test: three sockets answer a broadcast with an ack, then wait for a plain
  // broadcast.
  async broadcast() {
    const sockets = await Promise.all([0, 1, 2].map(() => connect()));
    await Promise.all(sockets.map(checkTransport));
    const ends = sockets.map((s, k) => {
      s.on("bcast", (n, bin, ack) => {
        if (typeof ack !== "function") fail(`bcast came to socket ${k} without an ack callback`);
        if (!isBinary(bin)) fail(`bcast came with ${JSON.stringify(bin)}, not binary`);
        ack({ k, n, bin });
      });
      return once(s, "bcast-end");
    });
    process.stdout.write(JSON.stringify({ connected: sockets.map((s) => s.id) }) + "\n");
    for (const got of await Promise.all(ends)) {
      assertEq("bcast-end", got, [{ n: 3, bin: Buffer.from([4, 5, 6]) }]);
      if (!isBinary(got[0].bin)) fail("bcast-end came without binary");
    }
    return { sockets: sockets.length };
  },

  // An Engine.IO session at the Socket.IO path that never connects to a namespace: the server
  // must close it after its connect timeout.
  async no_namespace() {
    const within = Number(args.within ?? 5000);
    const socket = new EngineSocket(url, { path: "/socket.io/", transports, upgrade: mode === "upgrade" });
    socket.on("error", (e) => fail(`engine error: ${e?.message ?? e}`));
    await new Promise((resolve) => socket.once("open", resolve));
    const opened = Date.now();
    const messages = [];
    socket.on("message", (m) => messages.push(m));
    const closed = await new Promise((resolve) => {
      const t = setTimeout(() => fail(`the server did not close the session within ${within} ms`), within);
      socket.once("close", (reason) => {
        clearTimeout(t);
        resolve(reason);
      });
    });
    return { closedAfterMs: Date.now() - opened, reason: closed, messages };
  },
};

/// Binary as the client hands it over.
function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

const run = scenarios[scenario];
if (!run) fail(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(", ")}`);
run().then(done, (e) => fail(`${e?.stack ?? e}`));
