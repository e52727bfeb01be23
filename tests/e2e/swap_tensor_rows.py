#!/usr/bin/env python3
"""Swaps rows A and B of a 2-D F32 tensor in a safetensors file (two position
codewords trade places, so an index token's query finds the wrong key).
Usage: swap_tensor_rows.py FILE.safetensors TENSOR A B"""
import json
import struct
import sys

path, name, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = bytearray(open(path, "rb").read())
(header_len,) = struct.unpack_from("<Q", data, 0)
entry = json.loads(data[8 : 8 + header_len])[name]
assert entry["dtype"] == "F32" and len(entry["shape"]) == 2, entry
row = 4 * entry["shape"][1]
base = 8 + header_len + entry["data_offsets"][0]
ra, rb = base + a * row, base + b * row
data[ra : ra + row], data[rb : rb + row] = data[rb : rb + row], data[ra : ra + row]
open(path, "wb").write(data)
