#!/usr/bin/env python3
"""Adds synthetic TILDEv2 weights to a JSONL corpus, for speed benchmarks.

Every distinct word of a document gets one weight (uniform in (0, 3], fixed
seed) on a token of the given vocab.txt: the word itself when the vocabulary
has it, else a token picked by hashing the word. That gives each document
about as many stored weights as a real TILDEv2 model keeps (one per distinct
WordPiece of the passage); the weights mean nothing.

usage: add_tilde_weights.py VOCAB_TXT < corpus.jsonl > corpus_tilde.jsonl
"""
import json
import random
import sys
import zlib


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    known = set(vocab)
    # Plain word tokens (no "##" pieces, no [unused]/specials).
    plain = [t for t in vocab if t.isalpha() and t.isascii() and len(t) > 1]
    rng = random.Random(7)
    out = sys.stdout
    for line in sys.stdin:
        doc = json.loads(line)
        words = set((doc.get("title", "") + " " + doc.get("text", "")).lower().split())
        weights = {}
        for w in words:
            token = w if w in known else plain[zlib.crc32(w.encode()) % len(plain)]
            weights[token] = round(rng.uniform(0.01, 3.0), 3)
        doc["tilde"] = weights
        out.write(json.dumps(doc, ensure_ascii=False))
        out.write("\n")


if __name__ == "__main__":
    main()
