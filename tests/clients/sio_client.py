"""Drives python-socketio's client against the Socket.IO test server of tests/common/sio.rs and
checks one scenario.

    python tests/clients/sio_client.py --url http://127.0.0.1:PORT \
        --mode polling|websocket|upgrade --scenario NAME [--timeout SECONDS] \
        [--max-decode-packets N]

Scenarios: echo, acks, server_ack, binary, namespaces, order, large, concurrent, extract_fail,
client_disconnect, server_disconnect, transport_close, ping_timeout, no_namespace,
wait_disconnect (the same as tests/clients/sio_client.mjs, whose header describes the server's
contract and the last three scenarios).

Modes: polling = transports ["polling"]; websocket = ["websocket"]; upgrade = ["polling",
"websocket"], and the run fails unless the client ends on the WebSocket.

Prints one JSON line and exits 0 on success; exits 1 with a message on stderr otherwise. An
overall timeout (default 20 s) ends the run, with every thread's stack on stderr. Every
connection is new and never reconnects.

How python-socketio 5.x (sync `socketio.Client`) expresses things, and what this script adapts:
- Binary is `bytes`, anywhere in the arguments; several arguments are a tuple; `call()` emits
  with an ack and returns the ack's argument (a tuple when there are several); a handler's
  return value answers the server's ack; namespaces are `connect(url, namespaces=[...],
  auth=...)` (one auth for all of them); a refused namespace makes `connect()` raise
  `socketio.exceptions.ConnectionError` after calling the `connect_error` handler with the
  packet's `{"message", "data"}`; disconnect reasons are its own ('client disconnect',
  'server disconnect', 'transport error').
- python-engineio calls each `message` handler in a new thread, so events could be handled out
  of order (and its binary reassembly raced): `OrderedEngine` runs them inline on the read loop,
  in wire order.
- python-engineio's `disconnect()` stops its write loop and then empties the queue, so what is
  still queued (the Socket.IO DISCONNECT, the Engine.IO close packet) may never be sent; over
  polling it also waits for the pending GET. `OrderedEngine.disconnect` lets the queue drain,
  keeps the close packet, waits for it to be sent, and does not wait for the read loop.
- A handler cannot leave the server's ack unanswered (python-socketio always answers, with the
  return value or nothing), so `server_ack` answers the `ask-timeout` question late (1 s, well
  after the server's 200 ms timeout) instead of never; the server must ignore the late answer.
- It refuses a polling response holding more than 16 packets (`Payload.max_decode_packets`);
  checking this script against the Node reference server (which does not cap its responses)
  needs `--max-decode-packets 100000`. Our server is tested without it.
"""

import argparse
import faulthandler
import json
import os
import sys
import threading
import time

import engineio
import engineio.packet
import engineio.payload
import socketio
import socketio.exceptions

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--mode", choices=["polling", "websocket", "upgrade"], required=True)
parser.add_argument("--scenario", required=True)
parser.add_argument("--timeout", type=float, default=20.0)
parser.add_argument("--max-decode-packets", type=int, default=None)
parser.add_argument("--within", type=float, default=5000.0, help="ms, for no_namespace")
args = parser.parse_args()

if args.max_decode_packets is not None:
    engineio.payload.Payload.max_decode_packets = args.max_decode_packets

TRANSPORTS = {
    "polling": ["polling"],
    "websocket": ["websocket"],
    "upgrade": ["polling", "websocket"],
}[args.mode]
EXPECTED_TRANSPORT = "polling" if args.mode == "polling" else "websocket"
WAIT = 10.0


def fail(msg, stacks=False):
    sys.stderr.write(f"FAIL [sio_client.py {args.mode}/{args.scenario}]: {msg}\n")
    if stacks:
        faulthandler.dump_traceback(file=sys.stderr)
    sys.stderr.flush()
    os._exit(1)


watchdog = threading.Timer(args.timeout, lambda: fail(f"timed out after {args.timeout} s", True))
watchdog.daemon = True
watchdog.start()


def canon(v):
    """A comparable, type-exact form: bytes become {"$bin": hex}; True stays distinct from 1."""
    if isinstance(v, (bytes, bytearray)):
        return {"$bin": bytes(v).hex()}
    if isinstance(v, (list, tuple)):
        return [canon(x) for x in v]
    if isinstance(v, dict):
        return {k: canon(x) for k, x in v.items()}
    return v


def assert_eq(what, got, expected):
    g = json.dumps(canon(got), sort_keys=True)
    e = json.dumps(canon(expected), sort_keys=True)
    if g != e:
        fail(f"{what}: got {g}, expected {e}")


class OrderedEngine(engineio.Client):
    """An `engineio.Client` that handles messages inline, in wire order, and that sends what is
    queued before it disconnects. With `mute_pongs` set it stops answering pings."""

    mute_pongs = False
    dropped_pongs = 0

    def _send_packet(self, pkt):
        if self.mute_pongs and pkt.packet_type == engineio.packet.PONG:
            self.dropped_pongs += 1
            return
        return super()._send_packet(pkt)

    def _trigger_event(self, event, *a, **kw):
        kw["run_async"] = False
        return super()._trigger_event(event, *a, **kw)

    def disconnect(self, abort=False, reason=None):
        if self.state != "connected":
            return super().disconnect(abort=True, reason=reason)
        # What is queued (a Socket.IO DISCONNECT) goes out first.
        deadline = time.monotonic() + 5
        while self.queue.unfinished_tasks and self.write_loop_task and time.monotonic() < deadline:
            time.sleep(0.005)
        # Let the write loop get back to waiting on its queue, so that it takes the close packet
        # that `disconnect` queues (it leaves its loop once the state is no longer "connected").
        time.sleep(0.05)
        write_loop = self.write_loop_task
        self._keep_queue = True
        try:
            super().disconnect(abort=True, reason=reason)
        finally:
            self._keep_queue = False
        # Wait for the close packet to be posted (polling); on the WebSocket the socket is closed.
        if write_loop is not None and write_loop is not threading.current_thread():
            write_loop.join(timeout=5)

    def _reset(self):
        # `disconnect` empties the queue, racing the write loop for the close packet.
        if getattr(self, "_keep_queue", False):
            self.state = "disconnected"
            self.sid = None
        else:
            super()._reset()


class Client(socketio.Client):
    def _engineio_client_class(self):
        return OrderedEngine


class Session:
    """One Socket.IO connection that records the events it receives."""

    def __init__(self, label="/"):
        self.label = label
        self.sio = Client(reconnection=False)
        self.cond = threading.Condition()
        self.events = []  # (namespace, event, args)
        self.closing = False
        self.disconnects = []  # (namespace, reason)
        self.connect_errors = []  # (namespace, data)
        self.sio.on("*", self._any("/"))

    def _any(self, ns):
        def handler(event, *a):
            self._record(ns, event, a)

        return handler

    def _record(self, ns, event, a):
        with self.cond:
            self.events.append((ns, event, list(a)))
            self.cond.notify_all()

    def watch(self, ns):
        """Records events, disconnects and connect errors on `ns`."""
        if ns != "/":
            self.sio.on("*", self._any(ns), namespace=ns)

        def on_disconnect(reason=None):
            with self.cond:
                self.disconnects.append((ns, reason))
                self.cond.notify_all()
            if not self.closing:
                fail(f"{self.label}: unexpected disconnect of {ns} ({reason})")

        def on_connect_error(data=None):
            with self.cond:
                self.connect_errors.append((ns, data))
                self.cond.notify_all()

        self.sio.on("disconnect", on_disconnect, namespace=ns)
        self.sio.on("connect_error", on_connect_error, namespace=ns)

    def on(self, event, handler, ns="/"):
        self.sio.on(event, handler, namespace=ns)

    def connect(self, namespaces=("/",), auth=None, expect_error=False, query="", headers=None):
        for ns in namespaces:
            self.watch(ns)
        try:
            self.sio.connect(
                args.url + query,
                headers=headers or {},
                transports=TRANSPORTS,
                namespaces=list(namespaces),
                auth=auth,
                wait_timeout=WAIT,
            )
        except socketio.exceptions.ConnectionError as e:
            if expect_error:
                return e
            fail(f"{self.label}: connect failed: {e}; connect errors: {self.connect_errors!r}")
        if expect_error:
            fail(f"{self.label}: connected, expected a connect error")
        return self

    def wait_for(self, pred, what):
        with self.cond:
            if not self.cond.wait_for(pred, timeout=WAIT):
                fail(f"{self.label}: no {what} within {WAIT} s; events: {self.events[-5:]!r}")

    def received(self, event, n=1, ns="/"):
        """The arguments of the first `n` `event`s on `ns`, waiting for them."""

        def matching():
            return [a for (n_, e, a) in self.events if n_ == ns and e == event]

        self.wait_for(lambda: len(matching()) >= n, f"{n} x {event!r}")
        with self.cond:
            return matching()[:n]

    def call(self, event, data=None, ns="/"):
        try:
            return self.sio.call(event, data, namespace=ns, timeout=WAIT)
        except socketio.exceptions.TimeoutError:
            fail(f"{self.label}: no ack for {event!r} within {WAIT} s")

    def check_transport(self):
        if self.sio.transport() != EXPECTED_TRANSPORT:
            fail(f"{self.label}: transport is {self.sio.transport()}, expected {EXPECTED_TRANSPORT}")

    def close(self):
        self.closing = True
        if self.sio.connected:
            self.sio.disconnect()


def echo():
    s = Session().connect()
    sent = (1, "two", {"three": [3]}, None, True, 2.5)
    s.sio.emit("mixed", sent)
    [got] = s.received("mixed")
    assert_eq("echo of mixed", got, list(sent))
    s.check_transport()
    s.close()
    return {"args": len(sent)}


def acks():
    s = Session().connect()
    assert_eq("sum ack", s.call("sum", (2, 3)), 5)
    assert_eq("sum-async ack", s.call("sum-async", (2, 3)), 5)
    assert_eq("echo through the ack", s.call("x", ("a", {"b": 1})), ["a", {"b": 1}])
    assert_eq("fail ack", s.call("fail"), {"message": "it failed"})
    assert_eq("state ack", s.call("state"), "tsio")
    assert_eq("whoami ack", s.call("whoami"), "/")
    assert_eq("refused by the event middleware", s.call("forbidden", 1), {"message": "not allowed"})
    # The client's own ack timeout, on an event the server never acks.
    started = time.monotonic()
    try:
        r = s.sio.call("ignore", timeout=0.3)
        fail(f"ignore was acked with {r!r}")
    except socketio.exceptions.TimeoutError:
        pass
    waited = time.monotonic() - started
    assert_eq("whoami after a timed out ack", s.call("whoami"), "/")
    s.check_transport()
    s.close()
    # The handshake record: query, auth, headers and address of the opening request.
    h = Session("handshake").connect(auth={"token": "t"}, query="?x=1", headers={"x-test": "yes"})
    seen = h.call("handshake")
    url = seen.pop("url", "")
    if not url.startswith("/socket.io/?") or "x=1" not in url:
        fail(f"handshake url {url}")
    opening = "websocket" if args.mode == "websocket" else "polling"
    assert_eq("handshake", seen, {
        "x": "1", "transport": opening, "auth": {"token": "t"}, "header": "yes",
        "address": "127.0.0.1", "secure": False, "recent": True,
    })
    h.close()
    return {"acks": 9, "timeout_after_s": round(waited, 3)}


def server_ack():
    s = Session()
    questions = []
    late = {"on": False}

    def question(n):
        questions.append(n)
        if late["on"]:
            # python-socketio always answers: answer after the server's 200 ms timeout.
            time.sleep(1.0)
        return n * 2

    s.on("question", question)
    s.connect()
    s.sio.emit("ask-me", 21)
    assert_eq("answer", s.received("answer")[0], [42])

    late["on"] = True
    s.sio.emit("ask-timeout")
    [[msg]] = s.received("answer-error")
    if not isinstance(msg, str) or "timed out" not in msg:
        fail(f"answer-error is {msg!r}, expected '... timed out'")
    assert_eq("questions", questions, [21, 1])
    # The late answer is ignored and the connection still works.
    assert_eq("whoami after the late answer", s.call("whoami"), "/")
    s.check_transport()
    s.close()
    return {"error": msg}


def binary():
    s = Session()
    asked = []

    def question_binary(b):
        asked.append(b)
        return bytes([9, 8, 7])

    s.on("question-binary", question_binary)
    s.connect()
    sent = (bytes(range(256)), {"nested": [bytes([1, 2]), "x"]})
    s.sio.emit("bin", sent)
    [got] = s.received("bin")
    assert_eq("echo of bin", got, list(sent))

    buf = b"ack me \xff"
    acked = s.call("bin-ack", buf)
    if not isinstance(acked, bytes):
        fail(f"bin-ack answered with {acked!r}")
    assert_eq("bin-ack", acked, buf)

    files = [bytes([1, 2, 3]), b"", bytes([255])]
    nested = s.call("nested", {"name": "report", "files": files})
    assert_eq("nested", nested, {"name": "REPORT", "files": files})

    s.sio.emit("ask-me-binary")
    [[answer]] = s.received("answer")
    assert_eq("question-binary", asked, [bytes([1, 2, 3])])
    if not isinstance(answer, bytes):
        fail(f"answer to ask-me-binary is {answer!r}")
    assert_eq("binary answer", answer, bytes([9, 8, 7]))
    s.check_transport()
    s.close()
    return {"buffers": 2 + 1 + len(files) + 2}


def namespaces():
    admin = Session("/admin").connect(["/admin"], auth={"token": "secret"})
    assert_eq("whoami on /admin", admin.call("whoami", ns="/admin"), "/admin")
    admin.check_transport()
    admin.close()

    wrong = Session("/admin (wrong token)")
    err = wrong.connect(["/admin"], auth={"token": "wrong"}, expect_error=True)
    assert_eq("wrong token: connect_error", wrong.connect_errors,
              [["/admin", {"message": "unauthorized", "data": {"code": 42}}]])

    nope = Session("/nope")
    nope.connect(["/nope"], expect_error=True)
    if len(nope.connect_errors) != 1 or (nope.connect_errors[0][1] or {}).get("message") != "Invalid namespace":
        fail(f"/nope: connect errors {nope.connect_errors!r}")

    dyn = Session("/dyn-7").connect(["/dyn-7"])
    assert_eq("whoami on /dyn-7", dyn.call("whoami", ns="/dyn-7"), "/dyn-7")
    dyn.check_transport()
    dyn.close()

    # Two namespaces over one Engine.IO connection.
    shared = Session("/ + /admin").connect(["/", "/admin"], auth={"token": "secret"})
    assert_eq("whoami on shared /", shared.call("whoami", ns="/"), "/")
    assert_eq("whoami on shared /admin", shared.call("whoami", ns="/admin"), "/admin")
    main_id, admin_id, engine_id = shared.sio.get_sid("/"), shared.sio.get_sid("/admin"), shared.sio.eio.sid
    if not main_id or not admin_id or main_id == admin_id:
        fail(f"socket ids not distinct: {main_id} {admin_id}")
    if engine_id in (main_id, admin_id):
        fail(f"a socket id equals the engine id {engine_id}")
    shared.check_transport()
    shared.close()
    return {"engine": engine_id, "sockets": [main_id, admin_id], "refused": str(err)}


def order():
    s = Session().connect()
    n = 1000
    for i in range(n):
        s.sio.emit("seq", i)
    got = [a[0] for a in s.received("seq", n)]
    # A round trip after the last echo: any duplicate echo would have arrived before its ack.
    s.call("whoami")
    total = len([e for e in s.events if e[1] == "seq"])
    if total != n:
        fail(f"{total} echoes for {n} events")
    if got != list(range(n)):
        bad = next(i for i, v in enumerate(got) if v != i)
        fail(f"echo {bad} is {got[bad]!r}")
    s.check_transport()
    s.close()
    return {"events": n}


def large():
    s = Session().connect()
    chunk = "0123456789abcdefghijklmnopqrstuvwxyz\u00e9\u2603"
    big = (chunk * (500 * 1024 // len(chunk) + 1))[: 500 * 1024]
    s.sio.emit("large", big)
    [[got]] = s.received("large")
    if got != big:
        fail(f"large string came back as {type(got).__name__} of length {len(got)}")
    s.check_transport()
    s.close()
    return {"length": len(big)}


def concurrent():
    n = 50
    ids = [None] * n
    errors = []

    def one(k):
        try:
            s = Session(f"client {k}").connect()
            for i in range(10):
                s.sio.emit("seq", f"{k}-{i}")
            got = [a[0] for a in s.received("seq", 10)]
            assert_eq(f"client {k} echoes", got, [f"{k}-{i}" for i in range(10)])
            s.check_transport()
            ids[k] = s.sio.get_sid("/")
            s.close()
        except BaseException as e:  # noqa: BLE001
            errors.append(f"client {k}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=one, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        fail("; ".join(errors))
    if len(set(ids)) != n:
        fail(f"only {len(set(ids))} distinct socket ids for {n} clients")
    return {"clients": n}


def extract_fail():
    s = Session().connect()
    r = s.call("sum", ("a", "b"))
    if not isinstance(r, dict) or not str(r.get("message", "")).startswith("invalid data"):
        fail(f"sum('a', 'b') answered {r!r}")
    s.check_transport()
    s.close()
    return {"error": r["message"]}


def client_disconnect():
    s = Session().connect()
    s.check_transport()
    sid = s.sio.get_sid("/")
    s.close()
    s.wait_for(lambda: s.disconnects, "disconnect event")
    assert_eq("disconnect", s.disconnects, [["/", socketio.Client.reason.CLIENT_DISCONNECT]])
    return {"id": sid}


def server_disconnect():
    s = Session().connect()
    s.check_transport()
    sid = s.sio.get_sid("/")
    s.closing = True
    s.sio.emit("disconnect-me")
    s.wait_for(lambda: s.disconnects, "disconnect event")
    assert_eq("disconnect", s.disconnects, [["/", socketio.Client.reason.SERVER_DISCONNECT]])
    return {"id": sid, "reason": s.disconnects[0][1]}


def transport_close():
    s = Session().connect()
    s.check_transport()
    sid = s.sio.get_sid("/")
    s.closing = True
    # Ends the Engine.IO session under the Socket.IO client, which sends no DISCONNECT.
    s.sio.eio.disconnect(abort=True)
    s.wait_for(lambda: s.disconnects, "disconnect event")
    return {"id": sid, "reason": s.disconnects[0][1]}


def ping_timeout():
    s = Session().connect()
    s.check_transport()
    sid = s.sio.get_sid("/")
    s.closing = True
    s.sio.eio.mute_pongs = True
    s.wait_for(lambda: s.disconnects, "disconnect event")
    if s.sio.eio.dropped_pongs == 0:
        fail(f"disconnected ({s.disconnects[0][1]}) before any ping was left unanswered")
    return {"id": sid, "reason": s.disconnects[0][1], "dropped": s.sio.eio.dropped_pongs}


def no_namespace():
    """An Engine.IO session at /socket.io/ that never sends a Socket.IO CONNECT: the server must
    close it after its connect timeout."""
    eio = engineio.Client()
    closed = threading.Event()
    eio.on("disconnect", lambda *a: closed.set())
    eio.connect(args.url, transports=TRANSPORTS, engineio_path="socket.io")
    opened = time.monotonic()
    if not closed.wait(timeout=args.within / 1000):
        fail(f"the server did not close the session within {args.within} ms")
    return {"closed_after_s": round(time.monotonic() - opened, 3)}


def wait_disconnect():
    """For the graceful close test: connect, print `{"connected": ID}` once on the expected
    transport, then wait for the server to end the connection."""
    s = Session().connect()
    s.check_transport()
    s.closing = True
    sid = s.sio.get_sid("/")
    print(json.dumps({"connected": sid}), flush=True)
    s.wait_for(lambda: s.disconnects, "disconnect event")
    return {"id": sid, "reason": s.disconnects[0][1]}


SCENARIOS = {
    f.__name__: f
    for f in [echo, acks, server_ack, binary, namespaces, order, large, concurrent, extract_fail,
              client_disconnect, server_disconnect, transport_close, ping_timeout, no_namespace,
              wait_disconnect]
}

if args.scenario not in SCENARIOS:
    fail(f"unknown scenario {args.scenario}; known: {', '.join(SCENARIOS)}")
try:
    summary = SCENARIOS[args.scenario]()
except BaseException as e:  # noqa: BLE001 - any failure is a test failure
    fail(f"{type(e).__name__}: {e}")
summary = {"ok": True, "client": "python-socketio", "mode": args.mode, "scenario": args.scenario,
           "transport": EXPECTED_TRANSPORT, **summary}
print(json.dumps(summary), flush=True)
sys.stdout.flush()
os._exit(0)
