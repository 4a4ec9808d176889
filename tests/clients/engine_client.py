"""Drives python-engineio's client against an Engine.IO echo server and checks one scenario.

    python tests/clients/engine_client.py --url http://127.0.0.1:PORT --path /engine.io/ \
        --mode polling|websocket|upgrade \
        --scenario text|binary|empty|order|large|upgrade_burst|concurrent \
        [--timeout SECONDS] [--max-decode-packets N]

The server echoes each message to its sender: text as text, binary as binary. Prints one JSON
line and exits 0 on success; exits 1 with a message on stderr otherwise. An overall timeout
(default 20 s) ends the run, with every thread's stack on stderr.

Modes: polling = transports ["polling"]; websocket = ["websocket"]; upgrade = ["polling",
"websocket"], and the run fails unless the client ends on the WebSocket.

Client behaviour worth knowing (python-engineio 4.x, sync `engineio.Client`):
- It refuses a polling response holding more than 16 packets (`Payload.max_decode_packets`):
  it logs "Unexpected packet from server, aborting" and drops the session. Servers must cap
  their polling responses to serve it; the Node reference server does not, so checking these
  scripts against it needs `--max-decode-packets 100000`. Our server is tested without it.
- It calls each `message` handler in a new thread, so handlers may run out of order. To see the
  order of the wire, `OrderedClient` runs handlers inline on the read loop.
- It decodes text messages that parse as JSON (not bare numbers) into Python values.
- It upgrades inside `connect()`, before it starts polling: messages sent from the connect
  handler are queued and all go out on the WebSocket after the upgrade. If the upgrade fails
  it stays on polling silently (hence the transport check).
"""

import argparse
import faulthandler
import json
import os
import sys
import threading

import engineio
import engineio.payload

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--path", default="/engine.io/")
parser.add_argument("--mode", choices=["polling", "websocket", "upgrade"], required=True)
parser.add_argument("--scenario", required=True)
parser.add_argument("--timeout", type=float, default=20.0)
parser.add_argument("--max-decode-packets", type=int, default=None)
args = parser.parse_args()

if args.max_decode_packets is not None:
    engineio.payload.Payload.max_decode_packets = args.max_decode_packets

TRANSPORTS = {
    "polling": ["polling"],
    "websocket": ["websocket"],
    "upgrade": ["polling", "websocket"],
}[args.mode]
EXPECTED_TRANSPORT = "polling" if args.mode == "polling" else "websocket"


def fail(msg, stacks=False):
    sys.stderr.write(f"FAIL [{args.mode}/{args.scenario}]: {msg}\n")
    if stacks:
        faulthandler.dump_traceback(file=sys.stderr)
    sys.stderr.flush()
    os._exit(1)


watchdog = threading.Timer(args.timeout, lambda: fail(f"timed out after {args.timeout} s", True))
watchdog.daemon = True
watchdog.start()


class OrderedClient(engineio.Client):
    """An `engineio.Client` whose event handlers run inline, in the order packets arrive."""

    def _trigger_event(self, event, *a, **kw):
        kw["run_async"] = False
        return super()._trigger_event(event, *a, **kw)


class Echo:
    """One client session collecting the messages it receives."""

    def __init__(self, on_connect=None):
        self.client = OrderedClient()
        self.got = []
        self.cond = threading.Condition()
        self.closing = False
        self.on_connect = on_connect
        self.client.on("connect", self._connect)
        self.client.on("message", self._message)
        self.client.on("disconnect", self._disconnect)

    def _connect(self):
        if self.on_connect:
            self.on_connect(self)

    def _message(self, data):
        with self.cond:
            self.got.append(data)
            self.cond.notify_all()

    def _disconnect(self, reason=None):
        if not self.closing:
            fail(
                f"session {self.client.sid} disconnected ({reason}) after {len(self.got)} echoes"
                f" on {self.client.transport()}"
                + (
                    "; python-engineio drops a session whose polling response has more than"
                    f" {engineio.payload.Payload.max_decode_packets} packets"
                    if self.client.transport() == "polling"
                    else ""
                )
            )

    def connect(self):
        try:
            self.client.connect(args.url, transports=TRANSPORTS, engineio_path=args.path.strip("/"))
        except Exception as e:  # noqa: BLE001
            fail(f"connect failed: {type(e).__name__}: {e}")
        return self

    def wait_for(self, n):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.got) >= n, timeout=args.timeout):
                fail(f"{len(self.got)} of {n} echoes arrived")
            return list(self.got[:n])

    def check_transport(self):
        if self.client.transport() != EXPECTED_TRANSPORT:
            fail(f"transport is {self.client.transport()}, expected {EXPECTED_TRANSPORT}")

    def close(self):
        self.closing = True
        # Over polling, disconnect() may stop the write loop before the close packet is out and
        # then wait for the pending GET until the next ping: do not wait for it.
        self.client.disconnect(abort=True)


def echo_order(session, n, prefix):
    start = len(session.got)
    for i in range(n):
        session.client.send(f"{prefix}{i}")
    got = session.wait_for(start + n)[start:]
    for i, m in enumerate(got):
        if m != f"{prefix}{i}":
            fail(f"echo {i} is {m!r}, expected {prefix}{i!r}")


def text():
    s = Echo().connect()
    sent = ["hello", "héllo ☃ 😀", '{"json":[1,"two",{"3":null}]}']
    # python-engineio hands over text that parses as JSON already decoded.
    expected = [sent[0], sent[1], json.loads(sent[2])]
    for m in sent:
        s.client.send(m)
    got = s.wait_for(len(sent))
    if got != expected:
        fail(f"echoes {got!r} != {expected!r}")
    s.check_transport()
    s.close()
    return {"messages": len(got)}


def binary():
    s = Echo().connect()
    a = bytes(range(256))
    b = os.urandom(64 * 1024)
    s.client.send(a)
    s.client.send(b)
    got = s.wait_for(2)
    if not isinstance(got[0], bytes) or got[0] != a:
        fail(f"0..255 echoed as {type(got[0]).__name__} {got[0][:16]!r}...")
    if not isinstance(got[1], bytes) or got[1] != b:
        fail(f"64 KiB buffer echoed as {type(got[1]).__name__} of length {len(got[1])}")
    s.check_transport()
    s.close()
    return {"bytes": len(a) + len(b)}


def empty():
    s = Echo().connect()
    s.client.send("")
    s.client.send(b"")
    got = s.wait_for(2)
    if got[0] != "":
        fail(f"empty string echoed as {got[0]!r}")
    if not isinstance(got[1], bytes) or got[1] != b"":
        fail(f"empty bytes echoed as {got[1]!r}")
    s.check_transport()
    s.close()
    return {}


def order():
    s = Echo().connect()
    echo_order(s, 2000, "m")
    s.check_transport()
    s.close()
    return {"messages": 2000}


def large():
    s = Echo().connect()
    big = "x" * (600 * 1024 - 7) + "☃end"
    s.client.send(big)
    got = s.wait_for(1)[0]
    if got != big:
        fail(f"large message came back as {type(got).__name__} of length {len(got)}")
    s.check_transport()
    s.close()
    return {"length": len(big)}


def upgrade_burst():
    if args.mode != "upgrade":
        fail("upgrade_burst needs --mode upgrade")
    early = 600
    late = 200

    # Sent from the connect handler, the moment the polling handshake is done and before the
    # client starts its upgrade.
    def burst(session):
        for i in range(early):
            session.client.send(f"u{i}")

    s = Echo(on_connect=burst).connect()
    for i in range(early, early + late):
        s.client.send(f"u{i}")
    got = s.wait_for(early + late)
    for i, m in enumerate(got):
        if m != f"u{i}":
            fail(f"echo {i} is {m!r}, expected 'u{i}'")
    s.check_transport()
    s.close()
    if len(s.got) != early + late:
        fail(f"{len(s.got)} echoes for {early + late} messages")
    return {"sent": early + late}


def concurrent():
    n = 30
    sessions = [None] * n

    def start(k):
        sessions[k] = Echo().connect()

    threads = [threading.Thread(target=start, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = {s.client.sid for s in sessions}
    if len(ids) != n:
        fail(f"only {len(ids)} distinct session ids for {n} sessions")
    # All sessions send at once, then each waits for its own echoes.
    starts = [len(s.got) for s in sessions]
    for k, s in enumerate(sessions):
        for i in range(20):
            s.client.send(f"c{k}-{i}")
    for k, s in enumerate(sessions):
        got = s.wait_for(starts[k] + 20)[starts[k]:]
        if got != [f"c{k}-{i}" for i in range(20)]:
            fail(f"session {k} got {got!r}")
        s.check_transport()
    for s in sessions:
        s.close()
    return {"sessions": len(ids)}


SCENARIOS = {f.__name__: f for f in [text, binary, empty, order, large, upgrade_burst, concurrent]}

if args.scenario not in SCENARIOS:
    fail(f"unknown scenario {args.scenario}")
try:
    summary = SCENARIOS[args.scenario]()
except BaseException as e:  # noqa: BLE001 - any failure is a test failure
    fail(f"{type(e).__name__}: {e}")
summary = {"ok": True, "client": "python-engineio", "mode": args.mode, "scenario": args.scenario,
           "transport": EXPECTED_TRANSPORT, **summary}
print(json.dumps(summary), flush=True)
os._exit(0)
