#!/usr/bin/env python3
"""PyTorch CPU baseline for the cross-encoder benchmark.

A BERT encoder with a cross-encoder head, written with plain torch ops as
Hugging Face's eager BertModel computes it (Debian's python3-torch has no
transformers), random weights of the given shape, every pair padded to the
same length L. Prints one JSON line per (L, batch): pairs/s.

  /usr/bin/python3 bench/gpu/torch_cpu_bench.py --threads 2
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


class Layer(torch.nn.Module):
    def __init__(self, h, heads, ffn):
        super().__init__()
        self.heads = heads
        self.q = torch.nn.Linear(h, h)
        self.k = torch.nn.Linear(h, h)
        self.v = torch.nn.Linear(h, h)
        self.o = torch.nn.Linear(h, h)
        self.ln1 = torch.nn.LayerNorm(h, eps=1e-12)
        self.i = torch.nn.Linear(h, ffn)
        self.out = torch.nn.Linear(ffn, h)
        self.ln2 = torch.nn.LayerNorm(h, eps=1e-12)

    def forward(self, x, mask):
        b, l, h = x.shape
        d = h // self.heads

        def split(t):
            return t.view(b, l, self.heads, d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, l, h)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.out(F.gelu(self.i(x))))


class CrossEncoder(torch.nn.Module):
    def __init__(self, vocab, h, layers, heads, ffn, max_pos=512):
        super().__init__()
        self.word = torch.nn.Embedding(vocab, h)
        self.pos = torch.nn.Embedding(max_pos, h)
        self.segment = torch.nn.Embedding(2, h)
        self.ln = torch.nn.LayerNorm(h, eps=1e-12)
        self.layers = torch.nn.ModuleList(Layer(h, heads, ffn) for _ in range(layers))
        self.pooler = torch.nn.Linear(h, h)
        self.classifier = torch.nn.Linear(h, 1)

    def forward(self, ids, types, attention):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.ln(self.word(ids) + self.pos(pos) + self.segment(types))
        mask = (1.0 - attention[:, None, None, :].float()) * -1e9
        for layer in self.layers:
            x = layer(x, mask)
        return self.classifier(torch.tanh(self.pooler(x[:, 0]))).squeeze(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lengths", default="128,256")
    ap.add_argument("--batches", default="32,100")
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=1536)
    ap.add_argument("--min-seconds", type=float, default=3.0)
    args = ap.parse_args()
    torch.manual_seed(42)
    torch.set_num_threads(args.threads)
    model = CrossEncoder(30522, args.hidden, args.layers, args.heads, args.ffn).eval()
    for length in map(int, args.lengths.split(",")):
        for batch in map(int, args.batches.split(",")):
            ids = torch.randint(1000, 30000, (batch, length))
            types = torch.zeros(batch, length, dtype=torch.long)
            types[:, length // 2:] = 1
            attention = torch.ones(batch, length, dtype=torch.long)
            with torch.inference_mode():
                model(ids, types, attention)  # warm-up
                runs, start = 0, time.perf_counter()
                while True:
                    model(ids, types, attention)
                    runs += 1
                    elapsed = time.perf_counter() - start
                    if elapsed >= args.min_seconds and runs >= 2:
                        break
            print(json.dumps({"engine": "pytorch", "torch": torch.__version__,
                              "threads": args.threads, "length": length,
                              "batch": batch, "pairs_per_s": runs * batch / elapsed}),
                  flush=True)


if __name__ == "__main__":
    main()
