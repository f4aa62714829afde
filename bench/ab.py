#!/usr/bin/env python3
"""Two berth binaries, A and B, measured against each other in one run: both servers are set up
alike (bench.py's `setup`), then each operation is loaded on A and on B in turn, the order
alternating every round, so the machine's drift falls on both. Prints each operation's median
requests/s and server CPU per request, and B's ratio to A.

    bench/.venv/bin/python bench/ab.py --a OLD/berth --b NEW/berth --loadgen target/release/berth-bench
"""

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True, help="the baseline binary")
    p.add_argument("--b", required=True, help="the binary compared with it")
    p.add_argument("--loadgen", required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--client-threads", type=int, default=1)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="berth-ab-"))
    servers = {}
    try:
        for name, binary in (("A", args.a), ("B", args.b)):
            args.berth = binary
            srv = bench.Server("berth", args, tmp / name)
            servers[name] = (srv, bench.setup(srv))
        results = {}
        for rnd in range(args.rounds):
            order = ("A", "B") if rnd % 2 == 0 else ("B", "A")
            for op, service, target, body in bench.ops(servers["A"][1]):
                for name in order:
                    srv, res = servers[name]
                    if op == "DescribeTasks":
                        body = bench.json.dumps({"cluster": "default", "tasks": [res["task_arn"]]})
                    r = bench.load(args, srv, res["key"], res["secret"], service, target, body,
                                   args.concurrency, duration=args.duration)
                    results.setdefault((op, name), []).append(r)
                    print(f"  round {rnd + 1} {op:<24} {name}: {r['rps']:>8.0f} req/s, "
                          f"{r['server_cpu_us_per_req']:.0f} us/req, errors {r['errors']}", file=sys.stderr)
        print()
        print(f"| operation | A req/s | B req/s | B/A | A server µs/req | B server µs/req | B/A |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for op, *_ in bench.ops(servers["A"][1]):
            rps = {n: statistics.median(r["rps"] for r in results[(op, n)]) for n in ("A", "B")}
            cpu = {n: statistics.median(r["server_cpu_us_per_req"] for r in results[(op, n)]) for n in ("A", "B")}
            print(f"| {op} | {rps['A']:.0f} | {rps['B']:.0f} | {rps['B'] / rps['A']:.2f} | "
                  f"{cpu['A']:.0f} | {cpu['B']:.0f} | {cpu['B'] / cpu['A']:.2f} |")
        errors = sum(r["errors"] for rs in results.values() for r in rs)
        print(f"(medians of {args.rounds} rounds of {args.duration:g} s at {args.concurrency} connections; "
              f"errors: {errors})")
    finally:
        for srv, _ in servers.values():
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
