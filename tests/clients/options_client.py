"""The engine's handshake options and HTTP compression, seen from python-socketio, against the
server of tests/engine_options.rs.

    python tests/clients/options_client.py --url http://127.0.0.1:PORT --transport polling|websocket

Connects with the query {name: "Jürgen", plus: "a+b c"} (encoded by urllib as a form is:
`name=J%C3%BCrgen&plus=a%2Bb+c`), through a `requests.Session` of its own, which keeps the
cookies the server sets and asks for gzip/deflate (and decodes it); a response hook records the
`Content-Encoding` and `Set-Cookie` of each polling response. It asks the server for the decoded
query (event `query`, by ack) and has a 4 KB JSON object echoed (event `big`), then prints one
JSON line and exits 0; exits 1 with a message on stderr on failure or after 15 s.
"""

import argparse
import json
import os
import sys
import threading
import urllib.parse

import requests
import socketio

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--transport", choices=["polling", "websocket"], required=True)
args = parser.parse_args()


def fail(msg):
    print(msg, file=sys.stderr, flush=True)
    os._exit(1)


threading.Timer(15, lambda: fail("timed out")).start()

seen = {"encodings": [], "set_cookie": []}


def record(res, *_a, **_kw):
    seen["encodings"].append(res.headers.get("Content-Encoding"))
    if "Set-Cookie" in res.headers:
        seen["set_cookie"].append(res.headers["Set-Cookie"])


session = requests.Session()
session.hooks["response"].append(record)

big = {
    "kind": "catalogue",
    "items": [
        {"id": i, "name": f"item number {i}", "tags": ["alpha", "beta", "gamma"], "price": i * 1.25, "ok": i % 2 == 0}
        for i in range(40)
    ],
}

try:
    sio = socketio.Client(reconnection=False, http_session=session)
    query = urllib.parse.urlencode({"name": "Jürgen", "plus": "a+b c"})
    sio.connect(f"{args.url}?{query}", transports=[args.transport], wait_timeout=5)
    answer = sio.call("query", timeout=5)
    echoed = sio.call("big", big, timeout=5)
    if echoed != big:
        fail(f"big echo differs: {str(echoed)[:200]}")
    out = {
        "query": answer,
        "sid": sio.eio.sid,
        "encodings": seen["encodings"],
        "set_cookie": seen["set_cookie"],
        "bigBytes": len(json.dumps(big, separators=(",", ":"))),
    }
    print(json.dumps(out), flush=True)
    os._exit(0)
except Exception as e:  # noqa: BLE001: any failure fails the run
    fail(f"failed: {e!r}")
