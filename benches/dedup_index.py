#!/usr/bin/env python3
"""`textpipe dedup index` on synthetic signatures: time and peak memory.

    python benches/dedup_index.py [--docs 1000000] [--ranks 16] [--bin target/release/textpipe]

Writes a sharded job's directory (job.json, completions/, signatures/{rank}.jsonl) with
--docs random 64-value signatures, 1% of them near-copies of an earlier one (56 of 64
values kept: estimated Jaccard 0.875) and 1% exact copies, runs the index step and prints
its wall time, peak RSS and how many of the planted copies it found. Nothing is committed.
"""

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEAK_OF = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--ranks", type=int, default=16)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "textpipe"))
    a = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp)
        (job / "signatures").mkdir()
        (job / "completions").mkdir()
        (job / "job.json").write_text(json.dumps({"world_size": a.ranks, "config": "synthetic"}))
        per_rank = (a.docs + a.ranks - 1) // a.ranks
        planted = 0
        recent = []
        t = time.perf_counter()
        for rank in range(a.ranks):
            (job / "completions" / f"{rank:05}").write_text("")
            with open(job / "signatures" / f"{rank:05}.jsonl", "w") as f:
                for k in range(per_rank):
                    i = rank * per_rank + k
                    if i >= a.docs:
                        break
                    r = rng.random()
                    if recent and r < 0.02:
                        sig, exact = list(rng.choice(recent))
                        if r < 0.01:
                            sig = list(sig)
                            for j in rng.sample(range(64), 8):
                                sig[j] = rng.getrandbits(58)
                            exact = rng.getrandbits(63)
                        planted += 1
                    else:
                        sig, exact = [rng.getrandbits(58) for _ in range(64)], rng.getrandbits(63)
                        if len(recent) < 10_000:
                            recent.append((sig, exact))
                    f.write(json.dumps({"id": f"d{i}", "source": f"corpus.jsonl:{i + 1}", "exact": exact, "minhash": sig}))
                    f.write("\n")
        size = sum(p.stat().st_size for p in (job / "signatures").iterdir()) / 1e6
        print(f"{a.docs} signatures in {a.ranks} ranks ({size:.0f} MB of JSONL), {planted} planted copies; written in {time.perf_counter() - t:.0f} s")
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", PEAK_OF, a.bin, "dedup", "index", str(job)], capture_output=True, text=True)
        wall = time.perf_counter() - t
        if out.returncode != 0:
            sys.exit(out.stderr)
        lines = out.stdout.strip().splitlines()
        peak_mb = int(lines[-1]) / 1024
        found = sum(1 for _ in open(job / "dedup" / "removed.jsonl"))
        print(f"textpipe dedup index: {wall:.1f} s, peak RSS {peak_mb:.0f} MB; {found} removed ({lines[0]})")


if __name__ == "__main__":
    main()
