#!/usr/bin/env python3
"""Runs the hostile-input corpus: every *.case file below the given directories.

    run_cases.py HANDWIRE_BIN CASE_DIR... [--summary]

A .case file is `key: value` lines (`#` starts a comment line):

  run: ARGS         the handwire command line after the binary, shell-split;
                    @DIR@ = the case file's directory, @TMP@ = a fresh scratch
                    directory, @OUT@ = a fresh empty output directory
  setup: COMMAND    optional; run by sh with cwd @TMP@ before `run`, with
                    $HANDWIRE, $DIR, $TMP, $OUT exported (@DIR@ etc. also work)
  exit: N           the expected exit code (docs/reliability.md, exit codes)
  stderr: REGEX     must match stderr (Python re.search, MULTILINE); it should
                    name the file and line, or the field or option
  signal: SIG after SECONDS[, SECONDS...]
                    optional; sends SIG (e.g. SIGINT) that many seconds after
                    the start, once per time given
  fsize: BYTES      optional; the largest file handwire may write
                    (RLIMIT_FSIZE, with SIGXFSZ ignored: writes past it fail
                    with EFBIG, a late write failure on demand)
  stdin: PATH       optional; handwire's stdin (default /dev/null)
  stdout: REGEX     optional; must match stdout (for --help and the like)

For every case the runner checks: the exit code, the regex, no crash (death
by a signal, or a sanitizer report), no hang (TIMEOUT seconds, then killed),
stderr at most 64 KiB, peak RSS at most 2 GiB (from wait4's rusage;
RLIMIT_AS would break ASan), and, when the exit code is neither 0 nor 3
(mismatches: the results are the output), that @OUT@ holds exactly what it
held after `setup`.
"""
import hashlib
import os
import re
import resource
import shlex
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 60.0
MAX_STDERR = 64 * 1024
MAX_RSS_KIB = 2 * 1024 * 1024
KEYS = {"run", "setup", "exit", "stderr", "signal", "fsize", "stdin", "stdout"}


def parse_case(path):
    case = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep or key not in KEYS:
                raise ValueError(f"{path}:{n}: expected KEY: VALUE with KEY in {sorted(KEYS)}")
            if key in case:
                raise ValueError(f"{path}:{n}: '{key}' given twice")
            case[key] = value.strip()
    for key in ("run", "exit", "stderr"):
        if key not in case:
            raise ValueError(f"{path}: missing '{key}:'")
    return case


def snapshot(root):
    """Every path below root with a hash of its content (files) or a mark."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "dir"
        for name in filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if not stat.S_ISREG(st.st_mode):  # never open a FIFO: it blocks
                out[os.path.relpath(p, root)] = f"mode {st.st_mode:o}"
                continue
            try:
                with open(p, "rb") as f:
                    out[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
            except OSError as e:
                out[os.path.relpath(p, root)] = f"unreadable {e.errno}"
    return out


def parse_signals(spec):
    m = re.fullmatch(r"(SIG[A-Z]+)\s+after\s+([0-9.,\s]+)", spec)
    if not m:
        raise ValueError(f"bad signal: '{spec}' (want e.g. 'SIGINT after 1.5, 2')")
    sig = getattr(signal, m.group(1))
    return [(float(t), sig) for t in m.group(2).replace(",", " ").split()]


def run_case(handwire, path):
    """Returns a list of failure messages (empty: the case passed)."""
    case = parse_case(path)
    problems = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as scratch:
        tmp = os.path.join(scratch, "tmp")
        out = os.path.join(scratch, "out")
        os.mkdir(tmp)
        os.mkdir(out)
        here = os.path.dirname(os.path.abspath(path))

        def subst(text):
            return text.replace("@DIR@", here).replace("@TMP@", tmp).replace("@OUT@", out)

        env = dict(os.environ, HANDWIRE=handwire, DIR=here, TMP=tmp, OUT=out)
        if "setup" in case:
            r = subprocess.run(["sh", "-c", subst(case["setup"])], cwd=tmp, env=env,
                               capture_output=True, timeout=TIMEOUT)
            if r.returncode != 0:
                return [f"setup failed ({r.returncode}): {r.stderr.decode(errors='replace')}"]
        before = snapshot(out)
        argv = [handwire] + [subst(a) for a in shlex.split(case["run"])]
        fsize = int(case["fsize"]) if "fsize" in case else None

        def limits():
            if fsize is not None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

        stdin = open(subst(case.get("stdin", "/dev/null")), "rb")
        errf = tempfile.TemporaryFile(dir=scratch)
        outf = tempfile.TemporaryFile(dir=scratch)
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, cwd=tmp, env=env, stdin=stdin,
                                stdout=outf, stderr=errf,
                                preexec_fn=limits)
        stdin.close()
        timers = [threading.Timer(t, lambda s=s: proc.poll() is None and proc.send_signal(s))
                  for t, s in parse_signals(case["signal"])] if "signal" in case else []
        for t in timers:
            t.start()
        killed = threading.Timer(TIMEOUT, proc.kill)
        killed.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0  # reaped by wait4
        killed.cancel()
        for t in timers:
            t.cancel()
        seconds = time.monotonic() - t0
        errf.seek(0)
        err = errf.read()
        errf.close()
        outf.seek(0)
        stdout_text = outf.read(1 << 20).decode("utf-8", errors="replace")
        outf.close()
        text = err[:MAX_STDERR * 4].decode("utf-8", errors="replace")

        if os.WIFSIGNALED(status):
            code = 128 + os.WTERMSIG(status)
            if seconds >= TIMEOUT:
                problems.append(f"hang: killed after {TIMEOUT:.0f} s")
            else:
                problems.append(f"crash: killed by signal {os.WTERMSIG(status)}")
        else:
            code = os.WEXITSTATUS(status)
        if code != int(case["exit"]):
            problems.append(f"exit {code}, expected {case['exit']}")
        if not re.search(subst(case["stderr"]), text, re.MULTILINE):
            problems.append(f"stderr does not match /{case['stderr']}/")
        if "stdout" in case and not re.search(subst(case["stdout"]), stdout_text, re.MULTILINE):
            problems.append(f"stdout does not match /{case['stdout']}/")
        if re.search(r"AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer", text):
            problems.append("sanitizer report")
        if len(err) > MAX_STDERR:
            problems.append(f"stderr is {len(err)} bytes, above {MAX_STDERR}")
        if usage.ru_maxrss > MAX_RSS_KIB:
            problems.append(f"peak RSS {usage.ru_maxrss // 1024} MiB, above {MAX_RSS_KIB // 1024}")
        if code not in (0, 3):
            after = snapshot(out)
            if after != before:
                changed = sorted(set(after.items()) ^ set(before.items()))
                problems.append(f"output directory changed by a failed run: {changed[:5]}")
        if problems:
            problems.append("stderr was:\n" + text[:2000])
    return problems


def main():
    args = [a for a in sys.argv[1:] if a != "--summary"]
    if len(args) < 2:
        sys.exit(__doc__)
    handwire, dirs = os.path.abspath(args[0]), args[1:]
    counts, failed = {}, 0
    for d in dirs:
        cases = sorted(os.path.join(root, f) for root, _, files in os.walk(d)
                       for f in files if f.endswith(".case"))
        if not cases:
            print(f"FAIL: no .case files below {d}")
            failed += 1
        counts[os.path.basename(os.path.normpath(d))] = len(cases)
        for path in cases:
            try:
                problems = run_case(handwire, path)
            except (ValueError, OSError, subprocess.SubprocessError) as e:
                problems = [f"cannot run the case: {e}"]
            name = os.path.relpath(path)
            if problems:
                failed += 1
                print(f"FAIL {name}: " + "\n  ".join(problems))
            else:
                print(f"ok   {name}")
    if "--summary" in sys.argv:
        # The rows docs/reliability.md shows (checked by style.hostile_counts).
        for d, n in counts.items():
            print(f"| {d} | {n} |")
    print(f"{sum(counts.values())} cases, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
