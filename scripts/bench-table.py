#!/usr/bin/env python3
"""Prints the peers benchmark table as markdown.

Reads criterion's estimates (target/criterion/<operation>/<library>/new/estimates.json,
mean point estimate in ns) and the allocation counts of the allocs bench
(target/bench-allocs.json). Ratio = row's mean / fastest peer's mean, where a
peer is any library other than medic.

Usage: python3 scripts/bench-table.py [--target DIR]
Run `cargo bench -p medic-resilience --bench peers` and `--bench allocs` first.
"""

import argparse
import json
import os
import sys
from pathlib import Path

OPERATIONS = [
    "breaker_success",
    "breaker_open_reject",
    "retry_success",
    "retry_3_failures",
    "breaker_contended_8_tasks",
]
LIBRARIES = [
    "medic",
    "failsafe",
    "recloser",
    "tower",
    "backon",
    "tokio-retry2",
    "tower-resilience",
]
SUBJECT = "medic"


def default_target() -> Path:
    env = os.environ.get("CARGO_TARGET_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "target"


def mean_ns(target: Path, operation: str, library: str) -> float | None:
    path = target / "criterion" / operation / library / "new" / "estimates.json"
    if not path.is_file():
        return None
    with path.open() as f:
        return float(json.load(f)["mean"]["point_estimate"])


def load_allocs(target: Path) -> dict[tuple[str, str], float]:
    path = target / "bench-allocs.json"
    if not path.is_file():
        print(f"note: {path} not found; run the allocs bench", file=sys.stderr)
        return {}
    with path.open() as f:
        rows = json.load(f)
    return {(r["operation"], r["library"]): float(r["allocs_per_call"]) for r in rows}


def fmt_ns(ns: float) -> str:
    if ns >= 100:
        return f"{ns:,.0f}"
    return f"{ns:.1f}"


def fmt_allocs(value: float | None) -> str:
    if value is None:
        return "?"
    if value == 0:
        return "0"
    return f"{value:.3g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=default_target(), help="cargo target dir")
    args = parser.parse_args()
    target: Path = args.target

    allocs = load_allocs(target)
    lines = [
        "| operation | library | mean ns | allocs/call | ratio to fastest peer |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    found = 0
    for operation in OPERATIONS:
        times = {}
        for library in LIBRARIES:
            ns = mean_ns(target, operation, library)
            if ns is not None:
                times[library] = ns
        found += len(times)
        peers = [ns for library, ns in times.items() if library != SUBJECT]
        fastest = min(peers) if peers else None
        for library, ns in times.items():
            ratio = f"{ns / fastest:.2f}" if fastest else "n/a"
            if library != SUBJECT and ns == fastest:
                ratio += " (fastest peer)"
            label = f"**{library}**" if library == SUBJECT else library
            lines.append(
                f"| {operation} | {label} | {fmt_ns(ns)} | "
                f"{fmt_allocs(allocs.get((operation, library)))} | {ratio} |"
            )
    if found == 0:
        print(f"no criterion estimates under {target / 'criterion'}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    print()
    print(
        "breaker_contended_8_tasks: 8 tokio tasks × 1000 calls on a 2-worker runtime through one "
        "shared breaker; criterion `iter_custom`, round wall time ÷ 8000 = wall ns per call. "
        "Other rows: one call per iteration on a current-thread runtime with paused time."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
