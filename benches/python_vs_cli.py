#!/usr/bin/env python3
"""The Python package against the CLI on the same config and corpus: throughput and peak memory.

    python benches/python_vs_cli.py [--config configs/default.toml] [--docs 100000]

Needs the package installed (``pip install ./python``) and a release CLI
(``cargo build --release``; ``--bin`` names another). Prints, for the Klexikon validation
articles (plain German text, ../shared/eval/summ/), MB/s and docs/s of ``textpipe run``
and of ``Pipeline.pipe`` (dicts in, dicts out), then the peak RSS of each over
``--docs`` generated documents (the CLI reading them from a JSONL file, ``pipe`` from a
generator). Each side runs in its own process, so each peak is its own.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "eval" / "summ" / "klexikon-validation.jsonl"


def child_pipe(config, corpus, n):
    """In a child process: pipe the corpus (or n generated documents) and print the timing."""
    import textpipe

    p = textpipe.Pipeline(config)
    if n:
        texts = [json.loads(l)["text"][:1000] for l in open(corpus, encoding="utf-8")]

        def docs():
            for i in range(n):
                yield {"id": str(i), "text": texts[i % len(texts)]}

        source = docs()
    else:
        source = (json.loads(l) for l in open(corpus, encoding="utf-8"))
    t = time.perf_counter()
    count = sum(1 for _ in p.pipe(source))
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"docs": count, "seconds": elapsed, "peak_mb": peak}))


# Runs a command and prints its peak RSS (KiB): in a fresh interpreter whose only child
# it is, since a process's RUSAGE_CHILDREN peak is the largest of all its children.
PEAK_OF = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def run_child(args):
    """Runs args; (wall seconds, stdout)."""
    t = time.perf_counter()
    out = subprocess.run(args, capture_output=True, check=True, text=True)
    return time.perf_counter() - t, out.stdout


def peak_mb(args):
    """The peak RSS of a command, in MB."""
    out = subprocess.run([sys.executable, "-c", PEAK_OF, *args], capture_output=True, check=True, text=True)
    return int(out.stdout) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "configs" / "default.toml"))
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "textpipe"))
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child_pipe(a.child[0], a.child[1], int(a.child[2]))
        return
    size = CORPUS.stat().st_size
    n_docs = sum(1 for _ in open(CORPUS, encoding="utf-8"))
    mb = size / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        cli_s, _ = run_child([a.bin, "run", a.config, "-q", "--input", str(CORPUS), "--output", str(out)])
        _, o = run_child([sys.executable, __file__, "--child", a.config, str(CORPUS), "0"])
        py = json.loads(o)
        assert py["docs"] == sum(1 for _ in open(out)), "pipe and run wrote different numbers of documents"
        print(f"corpus: {CORPUS.name}, {n_docs} documents, {mb:.1f} MB; config {a.config}")
        print(f"  textpipe run    {cli_s:7.2f} s  {mb / cli_s:6.2f} MB/s  {n_docs / cli_s:8.0f} docs/s (whole process)")
        print(f"  Pipeline.pipe   {py['seconds']:7.2f} s  {mb / py['seconds']:6.2f} MB/s  {n_docs / py['seconds']:8.0f} docs/s (the pipe loop)")
        print(f"  pipe / run      {cli_s / py['seconds']:.2f} of the CLI's throughput")

        # Peak memory over many generated documents.
        gen = Path(tmp) / "gen.jsonl"
        texts = [json.loads(l)["text"][:1000] for l in open(CORPUS, encoding="utf-8")]
        with open(gen, "w", encoding="utf-8") as f:
            for i in range(a.docs):
                f.write(json.dumps({"id": str(i), "text": texts[i % len(texts)]}, ensure_ascii=False) + "\n")
        cli_peak = peak_mb([a.bin, "run", a.config, "-q", "--input", str(gen), "--output", str(out)])
        _, o = run_child([sys.executable, __file__, "--child", a.config, str(CORPUS), str(a.docs)])
        py = json.loads(o)
        print(f"{a.docs} generated documents ({gen.stat().st_size / 1e6:.0f} MB as JSONL):")
        print(f"  textpipe run    peak RSS {cli_peak:6.0f} MB")
        print(f"  Pipeline.pipe   peak RSS {py['peak_mb']:6.0f} MB (interpreter and package included)")
        print(f"  pipe / run      {py['peak_mb'] / cli_peak:.2f}x the CLI's peak")


if __name__ == "__main__":
    main()
