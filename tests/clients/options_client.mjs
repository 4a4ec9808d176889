// The engine's handshake options and HTTP compression, seen from Node, against the server of
// tests/engine_options.rs.
//
//   node tests/clients/options_client.mjs --url http://127.0.0.1:PORT --scenario raw
//   node tests/clients/options_client.mjs --url http://127.0.0.1:PORT --scenario client \
//       --transport fetch|xhr|websocket|upgrade
//
// raw: a polling handshake by `fetch` (its status, headers and open packet) and a WebSocket
// handshake by the `ws` package (the headers of its 101), as a client reads them.
//
// client: the official socket.io-client, `withCredentials: true` (so it keeps the cookies the
// server sets, as a browser does), sending the query {name: "Jürgen", plus: "a+b c"}:
// fetch = polling with the client's `Fetch` transport (Node's fetch asks for gzip/deflate and
// decodes it); xhr = polling with its default Node transport (asks for no compression);
// websocket = WebSocket only; upgrade = the default, polling then WebSocket. It asks the server
// for the decoded query (event `query`, answered by ack) and has a 4 KB JSON object echoed
// (event `big`), then prints one JSON line: the answers, the engine id, the transport in use.
//
// Exits 0 after printing; 1 with a message on stderr on any failure or after 15 s.

import { io, Fetch, NodeXHR, NodeWebSocket } from "socket.io-client";
import { isDeepStrictEqual } from "node:util";
import WebSocket from "ws";

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a.startsWith("--")) args[a.slice(2)] = process.argv[++i];
}
const url = args.url;

function fail(msg) {
  console.error(msg);
  process.exit(1);
}
setTimeout(() => fail("timed out"), 15000).unref();

function headersOf(h) {
  const out = {};
  for (const [k, v] of h) out[k] = v;
  out["set-cookie"] = h.getSetCookie();
  return out;
}

async function raw() {
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
  const body = await res.text();
  const polling = { status: res.status, headers: headersOf(res.headers), body };
  const websocket = await new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
    ws.on("upgrade", (res) => resolve({ status: res.statusCode, headers: res.headers }));
    ws.on("error", reject);
    ws.on("open", () => ws.close());
  });
  return { polling, websocket };
}

function bigPayload() {
  // A JSON object of about 4 KB, as an application's event might carry.
  const items = [];
  for (let i = 0; items.length < 40; i++) {
    items.push({ id: i, name: `item number ${i}`, tags: ["alpha", "beta", "gamma"], price: i * 1.25, ok: i % 2 === 0 });
  }
  return { kind: "catalogue", items };
}

async function client(transport) {
  const transports = {
    fetch: [Fetch],
    xhr: [NodeXHR],
    websocket: [NodeWebSocket],
    upgrade: [NodeXHR, NodeWebSocket],
  }[transport];
  if (!transports) fail(`unknown transport ${transport}`);
  const socket = io(url, {
    transports,
    withCredentials: true,
    query: { name: "Jürgen", plus: "a+b c" },
    reconnection: false,
    forceNew: true,
  });
  await new Promise((resolve, reject) => {
    socket.on("connect", resolve);
    socket.on("connect_error", reject);
  });
  const query = await socket.timeout(5000).emitWithAck("query");
  const big = bigPayload();
  const echoed = await socket.timeout(5000).emitWithAck("big", big);
  if (!isDeepStrictEqual(echoed, big)) fail(`big echo differs: ${JSON.stringify(echoed).slice(0, 200)}`);
  if (transport === "upgrade" && socket.io.engine.transport.name !== "websocket") {
    await new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
  }
  const out = {
    query,
    engineId: socket.io.engine.id,
    transport: socket.io.engine.transport.name,
    bigBytes: JSON.stringify(big).length,
  };
  socket.disconnect();
  return out;
}

try {
  const out = args.scenario === "raw" ? await raw() : await client(args.transport);
  console.log(JSON.stringify(out));
  process.exit(0);
} catch (e) {
  fail(`failed: ${e && e.stack ? e.stack : e}`);
}
