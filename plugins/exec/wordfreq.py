#!/usr/bin/env python3
"""A textpipe `exec` stage in Python: adds the most frequent words to meta.top_words.

Protocol: one JSON document per line on stdin; answer each with one line on stdout that
carries the document's id: the (changed) document, {"id": ..., "drop": "reason"} or
{"id": ..., "error": "message"}. Anything else on stdout fails the document and restarts
the child: write logs to stderr. Flush after every line.
"""
import argparse
import json
import re
import sys
from collections import Counter

STOP = set("der die das und in zu den von mit ist im für auf dem des sich nicht ein eine als "
           "auch es an er hat aus bei sie nach wie am the of and to a in is that for on".split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    for line in sys.stdin:
        if not line.strip():
            continue
        doc = json.loads(line)
        words = [w.lower() for w in re.findall(r"\w+", doc.get("text", ""))]
        counts = Counter(w for w in words if w not in STOP and not w.isdigit() and len(w) > 2)
        if not counts:
            print(json.dumps({"id": doc["id"], "drop": "no words"}), flush=True)
            continue
        doc.setdefault("meta", {})["top_words"] = [w for w, _ in counts.most_common(args.top)]
        print(json.dumps(doc, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
