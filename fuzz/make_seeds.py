#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into corpus/NAME/ (run from fuzz/; the output is
committed, this script only says where the seeds came from). msgpack is written by a small
encoder below, in the forms notepack and socket.io-msgpack-parser write."""
import json, os, struct

def mp(v):
    if v is None: return b'\xc0'
    if v is True: return b'\xc3'
    if v is False: return b'\xc2'
    if isinstance(v, int):
        if 0 <= v < 128: return bytes([v])
        if -32 <= v < 0: return struct.pack('b', v)
        if 0 <= v < 1 << 32: return b'\xce' + struct.pack('>I', v)
        return b'\xd3' + struct.pack('>q', v)
    if isinstance(v, float): return b'\xcb' + struct.pack('>d', v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b'\xd9' + bytes([len(b)])) + b
    if isinstance(v, bytes): return b'\xc4' + bytes([len(v)]) + v
    if isinstance(v, list): return bytes([0x90 | len(v)]) + b''.join(mp(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b''.join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)

seeds = {
    'engine_packet': ['4hello', '2', '3', '2probe', '3probe', '1', '5', '6', 'bAQID', '4', '4é✓'],
    'polling_payload': ['4hello\x1e4world', 'bAQID\x1e2', '40\x1e42["e",1]', '3', '1\x1e6',
                        '42["a"]\x1ebAA==\x1e451-["b",{"_placeholder":true,"num":0}]'],
    'socketio_packet': ['0', '0/admin,{"token":"secret"}', '1', '1/admin,', '2["chat",{"a":1}]',
                        '21["sum",1,2]', '31[3]', '2/ns,5["e","x"]', '4{"message":"no"}',
                        '451-["bin",{"_placeholder":true,"num":0}]\x00\x01\x02\x03',
                        '562-/ns,7[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]\x00a\x00b',
                        '2["e",null,true,false,-1.5e3,"\\u00e9\\n",[],{}]'],
    'json': ['null', 'true', '[1,2.5,-3e10,"a\\"b\\\\c\\u0041\\ud83d\\ude00"]',
             '{"a":{"b":[{}]},"c":""}', '"\\/\\b\\f\\n\\r\\t"', '123456789012345678901234567890',
             '-0', '1E+2', '[[[[[[[[[[]]]]]]]]]]', '{"_placeholder":true,"num":0}'],
}
binary = {
    'msgpack': [
        mp({'type': 0, 'data': {'token': 'x'}, 'nsp': '/admin'}),
        mp({'type': 2, 'data': ['e', 1, 2.5, None, True, b'\x01\x02'], 'nsp': '/', 'id': 7}),
        mp({'type': 3, 'data': [{'a': [1, -1, 4294967295]}], 'nsp': '/', 'id': 1}),
        mp({'type': 4, 'data': {'message': 'no'}, 'nsp': '/'}),
        mp({'type': 1, 'nsp': '/'}),
        b'\xd6\xff\x00\x00\x00\x01',  # a timestamp extension
    ],
    'redis_message': [
        mp(['uid1', {'type': 2, 'data': ['e', 1], 'nsp': '/'},
            {'rooms': ['r'], 'except': ['x'], 'flags': {'volatile': False}}]),
        mp(['uid1', {'type': 5, 'data': ['b', b'\x00'], 'nsp': '/'}, {'rooms': [], 'except': []}]),
        json.dumps({'uid': 'u', 'requestId': '1', 'type': 0}).encode(),
        json.dumps({'uid': 'u', 'requestId': '2', 'type': 4, 'opts': {'rooms': ['a'], 'except': []},
                    'rooms': ['b']}).encode(),
        json.dumps({'uid': 'u', 'type': 6, 'opts': {'rooms': [], 'except': []}, 'close': True}).encode(),
        mp({'uid': 'u', 'requestId': '3', 'type': 7, 'packet': {'type': 2, 'data': ['e'], 'nsp': '/'},
            'opts': {'rooms': [], 'except': [], 'flags': {'timeout': 5000}}}),
        json.dumps({'requestId': '4', 'sockets': [{'id': 's', 'handshake': {
            'headers': {'host': 'x'}, 'time': 'Thu Jan 01 1970', 'address': '::1', 'xdomain': False,
            'secure': False, 'issued': 0, 'url': '/socket.io/?EIO=4', 'query': {'EIO': '4'},
            'auth': {}}, 'rooms': ['s', 'r'], 'data': {}}]}).encode(),
        json.dumps({'requestId': '5', 'rooms': ['a', 'b']}).encode(),
    ],
}
for name, items in seeds.items():
    binary.setdefault(name, []).extend(s.encode() for s in items)
for name, items in binary.items():
    os.makedirs(f'corpus/{name}', exist_ok=True)
    for i, data in enumerate(items):
        with open(f'corpus/{name}/seed-{i:02}', 'wb') as f:
            f.write(data)
