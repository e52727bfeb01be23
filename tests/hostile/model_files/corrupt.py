#!/usr/bin/env python3
"""Corrupts a compiled model one way, for the cases in this directory.

    corrupt.py CONFIG.json OP ARGS...

Ops on the config (PATH like certificate.code.worst_pairs[0][1]; VALUE is
JSON, or `inf`, written as 1e999, what a writer might print for infinity):
    set PATH VALUE        del PATH
Ops on the weights file the config names:
    header TENSOR KEY VALUE   set a header entry's dtype/shape/data_offsets
    rename TENSOR NEWNAME     NEWNAME is JSON ("a\\u0000")
    dup TENSOR                the tensor's entry twice in the header
    extra TENSOR NEWNAME      a copy of TENSOR's entry and data under NEWNAME
    poke TENSOR INDEX f32|i32 VALUE
    truncate BYTES            cut BYTES off the end
"""
import json
import os
import re
import struct
import sys


def parse_path(path):
    out = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        out.append(int(index) if index else name)
    return out


def value(text):
    return "\x01inf\x01" if text == "inf" else json.loads(text)


def dump_config(doc, path):
    text = json.dumps(doc, indent=1).replace('"\\u0001inf\\u0001"', "1e999")
    open(path, "w").write(text)


def read_weights(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    return data[8:8 + n].decode(), data[8 + n:]


def write_weights(path, header_text, payload):
    raw = header_text.encode()
    open(path, "wb").write(struct.pack("<Q", len(raw)) + raw + payload)


def main(config, op, *args):
    doc = json.load(open(config))
    if op in ("set", "del"):
        *parents, last = parse_path(args[0])
        node = doc
        for p in parents:
            node = node[p]
        if op == "set":
            node[last] = value(args[1])
        else:
            del node[last]
        dump_config(doc, config)
        return
    weights = os.path.join(os.path.dirname(config), doc["weights"])
    text, payload = read_weights(weights)
    header = json.loads(text)
    if op == "header":
        header[args[0]][args[1]] = value(args[2])
        text = json.dumps(header)
    elif op == "rename":
        header = {(json.loads(args[1]) if k == args[0] else k): v for k, v in header.items()}
        text = json.dumps(header)
    elif op == "dup":
        text = text.rstrip()[:-1] + "," + json.dumps(args[0]) + ":" + json.dumps(header[args[0]]) + "}"
    elif op == "extra":
        e = dict(header[args[0]])
        b, end = e["data_offsets"]
        e["data_offsets"] = [len(payload), len(payload) + end - b]
        payload += payload[b:end]
        header[args[1]] = e
        text = json.dumps(header)
    elif op == "poke":
        b = header[args[0]]["data_offsets"][0] + 4 * int(args[1])
        packed = struct.pack("<f" if args[2] == "f32" else "<i",
                             float(args[3]) if args[2] == "f32" else int(args[3]))
        payload = payload[:b] + packed + payload[b + 4:]
    elif op == "truncate":
        payload = payload[:-int(args[0])]
    else:
        sys.exit(f"corrupt.py: unknown op {op}")
    write_weights(weights, text, payload)


if __name__ == "__main__":
    main(*sys.argv[1:])
