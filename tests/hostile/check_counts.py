#!/usr/bin/env python3
"""Checks that docs/reliability.md's hostile-input table has the corpus's
current counts: every row `| NAME | N |` between the markers
`<!-- hostile-counts -->` and `<!-- /hostile-counts -->` must match the
number of .case files below tests/hostile/NAME.

    check_counts.py docs/reliability.md tests/hostile [--print]

--print prints the rows to paste instead of checking.
"""
import os
import re
import sys


def counts(root):
    out = {}
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if os.path.isdir(d):
            out[name] = sum(f.endswith(".case") for _, _, files in os.walk(d) for f in files)
    return out


def main():
    doc, root = sys.argv[1], sys.argv[2]
    have = counts(root)
    if "--print" in sys.argv:
        for name, n in have.items():
            print(f"| {name} | {n} | `hostile.{name}` |")
        return
    text = open(doc, encoding="utf-8").read()
    m = re.search(r"<!-- hostile-counts -->(.*?)<!-- /hostile-counts -->", text, re.S)
    if not m:
        sys.exit(f"{doc}: no <!-- hostile-counts --> table")
    shown = {r[0]: int(r[1]) for r in re.findall(r"^\| `?(\w+)`? \| (\d+) \|", m.group(1), re.M)}
    bad = [f"{n}: doc says {shown.get(n)}, corpus has {c}" for n, c in have.items() if shown.get(n) != c]
    bad += [f"{n}: in the doc, not in {root}" for n in shown if n not in have]
    if bad:
        sys.exit("docs/reliability.md hostile counts are stale (tests/hostile/check_counts.py "
                 "--print gives the rows):\n  " + "\n  ".join(bad))
    print(f"{len(have)} classes, {sum(have.values())} cases: the doc matches")


if __name__ == "__main__":
    main()
