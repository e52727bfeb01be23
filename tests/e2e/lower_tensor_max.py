#!/usr/bin/env python3
"""Lowers every entry of one F32 tensor of a safetensors file that equals the
tensor's largest |entry| by `steps` float32 ulps (a softmax scale stored as a
weight, one step below what its certificate requires). Usage:
lower_tensor_max.py FILE.safetensors TENSOR [STEPS]"""
import json
import struct
import sys

path, name = sys.argv[1], sys.argv[2]
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 1
data = bytearray(open(path, "rb").read())
(header_len,) = struct.unpack_from("<Q", data, 0)
header = json.loads(data[8 : 8 + header_len])
entry = header[name]
assert entry["dtype"] == "F32", entry
begin, end = entry["data_offsets"]
base = 8 + header_len + begin
count = (end - begin) // 4
values = list(struct.unpack_from("<%df" % count, data, base))
top = max(abs(v) for v in values)
for i, v in enumerate(values):
    if abs(v) == top:
        (bits,) = struct.unpack("<I", struct.pack("<f", v))
        struct.pack_into("<I", data, base + 4 * i, bits - steps)  # |v| down
open(path, "wb").write(data)
print("lowered %s's largest entry %r by %d ulp" % (name, top, steps))
