#!/usr/bin/env python3
"""Lists C++ functions longer than a limit, by counting the lines of their
bodies (from the line of the opening brace to the line of the closing one).

    scripts/function_lengths.py [--limit 120] [DIR ...]   (default: compiler runtime tools)

Exit status 1 if a function is over the limit, 0 otherwise. A function may go
over it when the line before its signature holds `// long-function: <why>`.

It is a brace matcher, not a parser: comments, strings and character literals
are blanked first; a brace opens a function body when the code before it ends
with `)` (optionally followed by const, override, noexcept, `-> type` or a
constructor's initializer list) and it is not a control statement, lambda or
braced initializer. Lambdas and local classes count toward the function that
contains them, which is what the limit is about.
"""
import argparse
import os
import re
import sys

CONTROL = re.compile(r"\b(if|for|while|switch|catch|do)\s*\($")


def blank(text):
    """Comments, strings and char literals replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = ")" + (m.group(1) if m else "") + '"'
            j = text.find(end, i)
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def opens_function(before):
    """Whether code ending in `before` is followed by a function body's `{`."""
    s = before.rstrip()
    # Constructor initializer lists: `) : a_(x), b_(y) {`.
    s = re.sub(r"\)\s*:\s*[\w:<>,\s\(\)\{\}\.\*&\[\]+-]*$", ")", s) if ":" in s else s
    s = re.sub(r"(\s*(const|override|final|noexcept|mutable))+$", "", s)
    s = re.sub(r"\s*->\s*[\w:<>,\s\*&]+$", "", s)
    if not s.endswith(")"):
        return False
    # The matching '(' and what precedes it.
    depth, k = 0, len(s) - 1
    while k >= 0:
        if s[k] == ")":
            depth += 1
        elif s[k] == "(":
            depth -= 1
            if depth == 0:
                break
        k -= 1
    head = s[:k].rstrip()
    if CONTROL.search(head + "("):
        return False
    if head.endswith("]") or head.endswith("=") or head.endswith("return"):
        return False  # lambda or initializer
    return bool(re.search(r"[\w>~=\]\)]$", head)) and not head.endswith("]")


def long_functions(path, limit):
    text = blank(open(path, encoding="utf-8", errors="replace").read())
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    found = []
    stack = []  # (is_function, start_line)
    line = 1
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c == "{":
            inside = any(f for f, _ in stack)
            start = max(text.rfind(";", 0, i), text.rfind("}", 0, i),
                        text.rfind("{", 0, i))
            is_fn = not inside and opens_function(text[start + 1:i])
            stack.append((is_fn, line))
        elif c == "}" and stack:
            is_fn, start = stack.pop()
            length = line - start + 1
            if is_fn and length > limit:
                sig = start - 1
                while sig > 0 and not lines[sig - 1].strip().startswith(
                        ("//", "}")) and lines[sig - 1].strip():
                    sig -= 1
                excused = sig > 0 and "long-function:" in lines[sig - 1]
                if not excused:
                    found.append((path, start, length, lines[start - 1].strip()))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=120)
    ap.add_argument("dirs", nargs="*", default=["compiler", "runtime", "tools"])
    args = ap.parse_args()
    over = []
    for d in args.dirs:
        for root, _, files in os.walk(d):
            for f in sorted(files):
                if f.endswith((".cpp", ".h")):
                    over += long_functions(os.path.join(root, f), args.limit)
    for path, start, length, text in sorted(over, key=lambda r: -r[2]):
        print(f"{path}:{start}: {length} lines: {text[:70]}")
    if over:
        print(f"{len(over)} functions over {args.limit} lines")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
