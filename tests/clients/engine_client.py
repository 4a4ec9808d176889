"""Drives python-engineio's client against an Engine.IO echo server and checks one scenario.

    python tests/clients/engine_client.py --url http://127.0.0.1:PORT --path /engine.io/ \
        --mode polling|websocket|upgrade --scenario text|binary|empty|order|large|upgrade_burst|concurrent

The server echoes each message to its sender: text as text, binary as binary. Prints one JSON
line and exits 0 on success; exits 1 with a message on stderr otherwise.
"""

import argparse
import faulthandler
import json
import os
import sys
import threading

import engineio

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--path", default="/engine.io/")
parser.add_argument("--mode", choices=["polling", "websocket", "upgrade"], required=True)
parser.add_argument("--scenario", required=True)
parser.add_argument("--timeout", type=float, default=20.0)
args = parser.parse_args()

TRANSPORTS = {
    "polling": ["polling"],
    "websocket": ["websocket"],
    "upgrade": ["polling", "websocket"],
}[args.mode]


def fail(msg):
    sys.stderr.write(f"FAIL [{args.mode}/{args.scenario}]: {msg}\n")
    if msg == "timed out":
        faulthandler.dump_traceback(file=sys.stderr)
    sys.stderr.flush()
    os._exit(1)


watchdog = threading.Timer(args.timeout, lambda: fail("timed out"))
watchdog.daemon = True
watchdog.start()


class Echo:
    """One client session collecting the messages it receives."""

    def __init__(self, on_connect=None):
        self.client = engineio.Client()
        self.got = []
        self.cond = threading.Condition()
        self.on_connect = on_connect
        self.client.on("message", self._message)
        self.client.on("connect", self._connect)

    def _connect(self):
        if self.on_connect:
            self.on_connect(self)

    def _message(self, data):
        with self.cond:
            self.got.append(data)
            self.cond.notify_all()

    def connect(self):
        self.client.connect(args.url, transports=TRANSPORTS, engineio_path=args.path.strip("/"))
        return self

    def wait_for(self, n):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.got) >= n, timeout=args.timeout):
                fail(f"{len(self.got)} of {n} echoes arrived")
        return self.got[:n]

    def check_transport(self):
        expected = "polling" if args.mode == "polling" else "websocket"
        if self.client.transport() != expected:
            fail(f"transport is {self.client.transport()}, expected {expected}")

    def close(self):
        # python-engineio's disconnect() over polling may stop its write loop before the close
        # packet goes out, then wait for the pending GET until the next ping: do not wait.
        self.client.disconnect(abort=True)


def echo_order(session, n, prefix):
    start = len(session.got)
    for i in range(n):
        session.client.send(f"{prefix}{i}")
    got = session.wait_for(start + n)[start:]
    for i, m in enumerate(got):
        if m != f"{prefix}{i}":
            fail(f"message {i} is {m!r}")


def text():
    s = Echo().connect()
    # (python-engineio decodes text that parses as JSON, so none is sent here.)
    sent = ["hello", "héllo ☃ 😀", "[not json"]
    for m in sent:
        s.client.send(m)
    got = s.wait_for(len(sent))
    if got != sent:
        fail(f"echoes {got!r} != {sent!r}")
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
    if got[0] != a or got[1] != b:
        fail("binary echoes differ")
    s.check_transport()
    s.close()
    return {"bytes": len(a) + len(b)}


def empty():
    s = Echo().connect()
    s.client.send("")
    s.client.send(b"")
    got = s.wait_for(2)
    if got[0] not in ("", None):
        fail(f"empty string echoed as {got[0]!r}")
    if got[1] != b"":
        fail(f"empty bytes echoed as {got[1]!r}")
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
        fail(f"large message came back with length {len(got or '')}")
    s.close()
    return {"length": len(big)}


def upgrade_burst():
    if args.mode != "upgrade":
        fail("upgrade_burst needs --mode upgrade")
    n = 600

    # Sent from the connect handler: queued on polling, before and while the upgrade runs.
    def burst(session):
        for i in range(n):
            session.client.send(f"u{i}")

    s = Echo(on_connect=burst).connect()
    for i in range(n, n + 200):
        s.client.send(f"u{i}")
    got = s.wait_for(n + 200)
    for i, m in enumerate(got):
        if m != f"u{i}":
            fail(f"echo {i} is {m!r}")
    s.check_transport()
    s.close()
    return {"sent": n + 200}


def concurrent():
    sessions = [None] * 30

    def start(k):
        sessions[k] = Echo().connect()

    threads = [threading.Thread(target=start, args=(k,)) for k in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = {s.client.sid for s in sessions}
    if len(ids) != 30:
        fail(f"only {len(ids)} distinct session ids")
    for k, s in enumerate(sessions):
        echo_order(s, 20, f"c{k}-")
    for s in sessions:
        s.close()
    return {"sessions": len(ids)}


SCENARIOS = {f.__name__: f for f in [text, binary, empty, order, large, upgrade_burst, concurrent]}

if args.scenario not in SCENARIOS:
    fail(f"unknown scenario {args.scenario}")
try:
    summary = SCENARIOS[args.scenario]()
except SystemExit:
    raise
except BaseException as e:  # noqa: BLE001 - any failure is a test failure
    fail(f"{type(e).__name__}: {e}")
print(json.dumps({"ok": True, "mode": args.mode, "scenario": args.scenario, **summary}), flush=True)
os._exit(0)
