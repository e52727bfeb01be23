#!/usr/bin/python3
"""Run a handwire sweep on a Dask cluster: one Dask task per shard.

    /usr/bin/python3 docs/examples/dask_sweep.py HANDWIRE SPEC --shards K \
        -o PREFIX [--scheduler tcp://HOST:8786 | --workers 2] [-- SWEEP OPTIONS]

Each task runs `HANDWIRE sweep SPEC --shard I/K SWEEP OPTIONS` in a scratch
directory on a worker and returns the shard file's bytes, so the workers need
the handwire binary and the spec at the paths given (installed on every
machine, or on a shared filesystem) but no shared directory for results. The
client writes the K shard files next to PREFIX and runs `HANDWIRE merge`,
which writes PREFIX.csv, PREFIX.json, PREFIX.timings.csv and PREFIX.svg: the
same bytes (but the timings) as `HANDWIRE sweep SPEC --time-budget 0
--input-time-limit 0 SWEEP OPTIONS -o PREFIX` on one machine (docs/sweep.md,
"Sharding and clusters").

Without --scheduler the script starts a LocalCluster of --workers processes
(one thread each, no dashboard). Exit status: handwire merge's (0 exact,
3 mismatches, 1 error); 1 if a shard fails.

Needs Dask distributed (Debian python3-distributed) in the Python that runs
it: Debian's /usr/bin/python3.
"""
import argparse
import os
import subprocess
import sys
import tempfile

from distributed import Client, LocalCluster


def run_shard(handwire, spec, index, count, sweep_args):
    """Runs shard index/count on this worker; returns its shard file's bytes.

    Exit 0 (exact) and 3 (mismatches: data, not a failure) both leave a
    shard file; anything else is an error, raised with handwire's stderr.
    """
    with tempfile.TemporaryDirectory(prefix="handwire-shard-") as tmp:
        prefix = os.path.join(tmp, "part")
        cmd = [handwire, "sweep", spec, "--shard", f"{index}/{count}",
               "-o", prefix, *sweep_args]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode not in (0, 3):
            raise RuntimeError(
                f"shard {index}/{count} on {os.uname().nodename}: "
                f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr}")
        path = f"{prefix}.shard-{index}-of-{count}.json"
        with open(path, "rb") as f:
            return f.read()


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Run a handwire sweep as K shards on a Dask cluster and "
                    "merge them.")
    p.add_argument("handwire", help="the handwire binary (on every worker)")
    p.add_argument("spec", help="the .task spec (on every worker)")
    p.add_argument("--shards", type=int, required=True, help="K")
    p.add_argument("-o", "--output", required=True,
                   help="output prefix of the merged sweep; the shard files "
                        "go to PREFIX.shard-I-of-K.json")
    p.add_argument("--scheduler",
                   help="address of a running scheduler, e.g. "
                        "tcp://host:8786 (default: a LocalCluster)")
    p.add_argument("--workers", type=int, default=2,
                   help="LocalCluster worker processes (default 2)")
    p.epilog = ("Everything after -- goes to every shard's sweep, e.g. "
                "-- --lengths 16,64 -n 20 -j 1")
    # argparse would mistake the sweep's options for its own: split first.
    split = argv.index("--") if "--" in argv else len(argv)
    args = p.parse_args(argv[:split])
    args.sweep_args = argv[split + 1:]
    if args.shards < 1:
        p.error("--shards must be at least 1")
    return args


def main(argv):
    args = parse_args(argv)
    handwire = os.path.abspath(args.handwire)
    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(run_shard, handwire, args.spec, i,
                                 args.shards, args.sweep_args, pure=False)
                   for i in range(args.shards)]
        try:
            shards = client.gather(futures)
        except RuntimeError as e:
            print(f"dask_sweep: {e}", file=sys.stderr)
            return 1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    paths = []
    for i, data in enumerate(shards):
        path = f"{args.output}.shard-{i}-of-{args.shards}.json"
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
    return subprocess.run([handwire, "merge", *paths, "-o",
                           args.output]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
