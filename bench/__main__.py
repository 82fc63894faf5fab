"""`python -m bench [--runs N]`: every benchmark in turn (page boot, then connect), as `make bench` runs them."""

from __future__ import annotations

import argparse
import sys

from bench import boot, connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = ["--runs", str(args.runs)]
    print("== page boot (bench.boot) ==", flush=True)
    sys.argv = [sys.argv[0], *runs]  # bench.boot reads sys.argv
    boot.main()
    print("\n== connect, round trip, disconnect, heap (bench.connect) ==", flush=True)
    connect.main(runs)


if __name__ == "__main__":
    main()
