// Drives the official Socket.IO v2 client (npm `socket.io-client` 2.x, installed as
// `socket.io-client-v2`: Engine.IO v3, Socket.IO's v4 protocol) against the Socket.IO test
// server of tests/common/sio.rs built with `allow_eio3(true)`, and checks one scenario.
//
//   node tests/clients/v2_client.mjs --url http://127.0.0.1:PORT \
//        --mode polling|websocket|upgrade --scenario NAME [--timeout MS] [--b64 1]
//
// `--b64 1` sets the client's `forceBase64`: it then asks for text payloads only (`b64=1`) and
// binary travels as `b4` + base64; by default the Node client reads and posts binary payloads.
//
// Scenarios: echo, acks, server_ack, binary, namespaces, order, large, concurrent, heartbeat,
// client_disconnect, server_disconnect, transport_close, ping_timeout, wait_disconnect,
// broadcast, refused.
//
// The server's contract is that of tests/clients/sio_client.mjs, plus `/refuse` (its middleware
// refuses with the message "go away" and no data). A v2 client has no auth: its namespace's
// query stands for it (`/admin?token=secret`); a refusal is its socket's `error` event, with the
// error's data, or else its message.
//
// Modes: polling = transports ["polling"]; websocket = ["websocket"]; upgrade = ["polling",
// "websocket"], and the run fails unless every socket ends on the WebSocket.
//
// Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise. An
// overall timeout (default 20000 ms) ends the run. Every connection is new (`forceNew`) and never
// reconnects.
//
// `wait_disconnect` prints `{"connected": ID}` once connected, then waits for the server to end
// the connection. `broadcast` opens three sockets that answer `bcast` (n, buffer) through its
// ack with {k, n, bin}, prints `{"connected": [IDS]}`, and succeeds once each has received
// `bcast-end` with {n: 3, bin: <04 05 06>}. `refused` expects the handshake itself to fail (a
// server without `allow_eio3`).
import ioV2 from "socket.io-client-v2";
import { isDeepStrictEqual } from "node:util";

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
const forceBase64 = args.b64 === "1";

function fail(msg) {
  process.stderr.write(`FAIL [v2_client.mjs ${mode}/${scenario}]: ${msg}\n`);
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
  const line = { ok: true, client: "socket.io-client@2", mode, scenario, transport: expectedTransport, forceBase64, ...summary };
  process.stdout.write(JSON.stringify(line) + "\n");
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

function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

const options = (extra = {}) => ({ transports, upgrade: mode === "upgrade", forceNew: true, reconnection: false, forceBase64, ...extra });

/// Watches a socket: an error or a disconnect that the scenario did not announce fails the run.
function watch(socket, label) {
  opened.push(socket);
  socket.label = label;
  socket.expectClose = false;
  socket.expectError = false;
  socket.on("disconnect", (reason) => {
    if (!socket.expectClose) fail(`${label}: unexpected disconnect (${reason})`);
  });
  socket.on("error", (e) => {
    if (!socket.expectError) fail(`${label}: error ${JSON.stringify(e)}`);
  });
  socket.on("connect_error", (e) => fail(`${label}: connect_error ${e?.message ?? e} ${e?.description?.message ?? ""}`));
  return socket;
}

function connected(socket) {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve) => socket.once("connect", () => resolve(socket)));
}

/// A new connected socket on its own connection.
async function connect(nsp = "/", extra = {}) {
  return connected(watch(ioV2(url + (nsp === "/" ? "" : nsp), options(extra)), nsp));
}

/// Resolves with the `error` of a socket whose namespace refuses it.
function refusal(socket) {
  socket.expectError = true;
  return new Promise((resolve) => {
    socket.once("connect", () => fail(`${socket.label}: connected, expected an error`));
    socket.once("error", (e) => resolve(e));
  });
}

/// The engine's transport, waiting for the upgrade in upgrade mode.
async function checkTransport(socket) {
  const engine = socket.io.engine;
  if (mode === "upgrade" && engine.transport.name !== "websocket") {
    await new Promise((resolve) => engine.once("upgrade", resolve));
  }
  if (engine.transport.name !== expectedTransport) {
    fail(`${socket.label}: transport is ${engine.transport.name}, expected ${expectedTransport}`);
  }
}

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

/// Emits with an ack and resolves with the ack's first argument.
const ack = (socket, event, ...a) => ackArgs(socket, event, ...a).then((r) => r[0]);

const scenarios = {
  async echo() {
    const s = await connect();
    const sent = [1, "two", { three: [3] }, null, true, 2.5];
    const back = once(s, "mixed");
    s.emit("mixed", ...sent);
    assertEq("echo of mixed", await back, sent);
    await checkTransport(s);
    return { id: s.id, engine: s.io.engine.id };
  },

  async acks() {
    const s = await connect();
    assertEq("sum ack", await ack(s, "sum", 2, 3), 5);
    assertEq("sum-async ack", await ack(s, "sum-async", 2, 3), 5);
    assertEq("echo through the ack", await ackArgs(s, "x", "a", { b: 1 }), ["a", { b: 1 }]);
    assertEq("fail ack", await ack(s, "fail"), { message: "it failed" });
    assertEq("state ack", await ack(s, "state"), "tsio");
    assertEq("whoami ack", await ack(s, "whoami"), "/");
    assertEq("refused by the event middleware", await ack(s, "forbidden", 1), { message: "not allowed" });
    await checkTransport(s);
    // The handshake record: the engine's query and headers; `/` joined without auth.
    const h = await connect("/", { query: { x: "1" }, extraHeaders: { "x-test": "yes" } });
    const seen = await ack(h, "handshake");
    if (!seen.url.startsWith("/socket.io/?") || !seen.url.includes("EIO=3") || !seen.url.includes("x=1")) fail(`handshake url ${seen.url}`);
    const opening = mode === "websocket" ? "websocket" : "polling";
    assertEq("handshake", { ...seen, url: undefined }, {
      url: undefined, x: "1", transport: opening, auth: {}, header: "yes",
      address: "127.0.0.1", secure: false, recent: true,
    });
    return { acks: 8 };
  },

  async server_ack() {
    const s = await connect();
    const questions = [];
    s.on("question", (n, cb) => {
      questions.push(n);
      if (typeof cb !== "function") fail(`question ${n} came without an ack callback`);
      cb(n * 2);
    });
    const answer = once(s, "answer");
    s.emit("ask-me", 21);
    assertEq("answer", await answer, [42]);
    assertEq("questions", questions, [21]);
    await checkTransport(s);
    return {};
  },

  async binary() {
    const s = await connect();
    // On a WebSocket, binary comes as binary frames (type byte 4 first), or as `b4` + base64
    // text frames to a client that asked for base64.
    const frames = { binary: 0, base64: 0 };
    if (mode === "websocket") {
      s.io.engine.transport.ws.on("message", (data) => {
        if (typeof data === "string") frames.base64 += data.startsWith("b4") ? 1 : 0;
        else if (new Uint8Array(Buffer.isBuffer(data) ? data : Buffer.from(data))[0] === 4) frames.binary++;
        else fail(`a binary frame of another type than 4`);
      });
    }
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const sent = [all, { nested: [Buffer.from([1, 2]), "x"] }];
    const back = once(s, "bin");
    s.emit("bin", ...sent);
    const got = await back;
    assertEq("echo of bin", got, sent);
    if (!isBinary(got[0]) || !isBinary(got[1].nested[0])) fail("echoed buffers did not come back as binary");

    const buf = Buffer.from("ack me \u00ff", "latin1");
    const acked = await ack(s, "bin-ack", buf);
    if (!isBinary(acked)) fail(`bin-ack answered with ${JSON.stringify(acked)}`);
    assertEq("bin-ack", acked, buf);

    const files = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.from([255])];
    const nested = await ack(s, "nested", { name: "report", files });
    assertEq("nested", nested, { name: "REPORT", files });

    s.on("question-binary", (b, cb) => {
      assertEq("question-binary", b, Buffer.from([1, 2, 3]));
      cb(Buffer.from([9, 8, 7]));
    });
    const answer = once(s, "answer");
    s.emit("ask-me-binary");
    const [a] = await answer;
    if (!isBinary(a)) fail(`answer to ask-me-binary is ${JSON.stringify(a)}`);
    assertEq("binary answer", a, Buffer.from([9, 8, 7]));
    await checkTransport(s);
    if (mode === "websocket") {
      const expected = forceBase64 ? { binary: 0, base64: 8 } : { binary: 8, base64: 0 };
      assertEq("WebSocket frames of binary", frames, expected);
    }
    return { buffers: 2 + 1 + files.length + 2, frames };
  },

  async namespaces() {
    const admin = await connect("/admin", { query: { token: "secret" } });
    assertEq("whoami on /admin", await ack(admin, "whoami"), "/admin");
    await checkTransport(admin);

    // Refused by the middleware: the error's data, or else its message.
    const wrong = watch(ioV2(url + "/admin", options({ query: { token: "wrong" } })), "/admin (wrong token)");
    assertEq("wrong token: error", await refusal(wrong), { code: 42 });
    const refused = watch(ioV2(url + "/refuse", options()), "/refuse");
    assertEq("/refuse: error", await refusal(refused), "go away");
    const nope = watch(ioV2(url + "/nope", options()), "/nope");
    assertEq("/nope: error", await refusal(nope), { message: "Invalid namespace" });

    const dyn = await connect("/dyn-7");
    assertEq("whoami on /dyn-7", await ack(dyn, "whoami"), "/dyn-7");
    await checkTransport(dyn);

    // Two namespaces over one connection.
    const manager = new ioV2.Manager(url, options());
    const main = watch(manager.socket("/"), "/ (shared)");
    const adm = watch(manager.socket("/admin", { query: { token: "secret" } }), "/admin (shared)");
    await Promise.all([connected(main), connected(adm)]);
    assertEq("whoami on shared /", await ack(main, "whoami"), "/");
    assertEq("whoami on shared /admin", await ack(adm, "whoami"), "/admin");
    const engineId = manager.engine.id;
    if (main.id !== engineId || adm.id !== `/admin#${engineId}`) fail(`socket ids ${main.id} ${adm.id} for engine ${engineId}`);
    await checkTransport(main);
    const sockets = [main.id, adm.id];
    adm.expectClose = true;
    adm.disconnect();
    assertEq("whoami on / after leaving /admin", await ack(main, "whoami"), "/");
    if (manager.engine.id !== engineId) fail("the engine changed after leaving /admin");
    return { engine: engineId, sockets, admin: admin.id, dyn: dyn.id };
  },

  async order() {
    const s = await connect();
    const n = 1000;
    const got = [];
    s.on("seq", (i) => got.push(i));
    for (let i = 0; i < n; i++) s.emit("seq", i);
    await ack(s, "whoami");
    await new Promise((resolve) => {
      const check = () => (got.length >= n ? resolve() : setTimeout(check, 5));
      check();
    });
    await ack(s, "whoami");
    if (got.length !== n) fail(`${got.length} echoes for ${n} events`);
    for (let i = 0; i < n; i++) if (got[i] !== i) fail(`echo ${i} is ${JSON.stringify(got[i])}`);
    await checkTransport(s);
    return { events: n };
  },

  // Characters of one, two and three UTF-8 bytes and of two UTF-16 units: v3 payload lengths
  // count UTF-16 units.
  async large() {
    const s = await connect();
    const chunk = "0123456789abcdefghijklmnopqrstuvwxyz\u00e9\u2603\u{1f600}";
    let big = "";
    while (big.length < 300 * 1024) big += chunk;
    const small = "h\u00e9\u{1f600}";
    const backSmall = once(s, "small");
    s.emit("small", small);
    assertEq("small", await backSmall, [small]);
    const back = once(s, "large");
    s.emit("large", big);
    const [got] = await back;
    if (got !== big) fail(`large string came back as ${typeof got} of length ${got?.length}`);
    await checkTransport(s);
    return { length: big.length };
  },

  async concurrent() {
    const n = 20;
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

  // The client pings (v3): three pongs in a row, and the connection is still up.
  async heartbeat() {
    const s = await connect();
    await checkTransport(s);
    const engine = s.io.engine;
    let pongs = 0;
    await new Promise((resolve) => engine.on("pong", () => ++pongs === 3 && resolve()));
    assertEq("whoami after three pings", await ack(s, "whoami"), "/");
    return { pongs, pingInterval: engine.pingInterval, pingTimeout: engine.pingTimeout };
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

  // The client stops pinging (and stops watching the server's silence itself): the server must
  // end the session after pingInterval + pingTimeout.
  async ping_timeout() {
    const s = await connect();
    await checkTransport(s);
    const id = s.id;
    const engine = s.io.engine;
    engine.setPing = () => {};
    engine.removeListener("heartbeat", engine.onHeartbeat);
    clearTimeout(engine.pingIntervalTimer);
    clearTimeout(engine.pingTimeoutTimer);
    s.expectClose = true;
    const [r] = await once(s, "disconnect");
    return { id, reason: r };
  },

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

  async broadcast() {
    const sockets = await Promise.all([0, 1, 2].map(() => connect()));
    await Promise.all(sockets.map(checkTransport));
    const ends = sockets.map((s, k) => {
      s.on("bcast", (n, bin, cb) => {
        if (typeof cb !== "function") fail(`bcast came to socket ${k} without an ack callback`);
        if (!isBinary(bin)) fail(`bcast came with ${JSON.stringify(bin)}, not binary`);
        cb({ k, n, bin });
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

  // A server without allow_eio3: the handshake fails, nothing connects.
  async refused() {
    const s = ioV2(url, options());
    opened.push(s);
    s.on("connect", () => fail("connected to a server that refuses EIO=3"));
    const e = await new Promise((resolve) => s.once("connect_error", resolve));
    const d = e?.description;
    return { error: e?.message ?? String(e), description: typeof d === "number" || typeof d === "string" ? d : (d?.message ?? null) };
  },
};

const run = scenarios[scenario];
if (!run) fail(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(", ")}`);
run().then(done, (e) => fail(`${e?.stack ?? e}`));
