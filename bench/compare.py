"""Two runs of the benchmarks side by side: a change's figures before and after, each run with its own floors.

`python -m bench.compare --before DIR --after DIR --name NAME --title TITLE --what TEXT` reads the results
(`*.json`) that `make bench` wrote in two checkouts (e.g. one at the commit before a refactor and one after,
run back to back on the same machine at the same size) and records one result, `NAME`, whose figures are
"before → after" for every figure both runs measured. docs/benchmarks.md shows it like any other result.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.common import machine, save

# Figures that describe the run rather than measure it: shown once, not compared.
NOT_MEASURED = {"target", "seed", "client"}


def compared(before: dict[str, Any], after: dict[str, Any]) -> dict[str, str]:
    """`before → after` for every figure of `after` that `before` also has (and says which exist on one side only)."""
    figures: dict[str, str] = {}
    for key, value in after["figures"].items():
        if key in NOT_MEASURED:
            continue
        figures[key] = f"{before['figures'][key]} → {value}" if key in before["figures"] else f"(new) {value}"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="docs/bench-results of the earlier checkout")
    parser.add_argument("--after", type=Path, required=True, help="docs/bench-results of the later checkout")
    parser.add_argument("--name", required=True)
    parser.add_argument("--title", required=True)
    parser.add_argument("--what", required=True)
    parser.add_argument("--notes", default="")
    args = parser.parse_args()
    figures: dict[str, str] = {}
    commits: list[str] = []
    for after_path in sorted(args.after.glob("*.json")):
        before_path = args.before / after_path.name
        if not before_path.exists() or after_path.stem.startswith("compare"):
            continue
        before, after = json.loads(before_path.read_text()), json.loads(after_path.read_text())
        if before["machine"]["date"] == after["machine"]["date"]:
            continue  # the same recorded run on both sides: this size was not measured again
        commits.append(f"{after_path.stem}: {before['machine']['git']} → {after['machine']['git']}")
        figures |= {f"{after['title']}: {k}": v for k, v in compared(before, after).items()}
    result = {"title": args.title, "what": args.what + " Commits: " + "; ".join(commits) + ".",
              "machine": machine(), "figures": figures, "notes": args.notes}
    save(args.name, result)


if __name__ == "__main__":
    main()
