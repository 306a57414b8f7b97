#!/usr/bin/env python3
"""PyTorch + Hugging Face transformers baseline for the GPU cross-encoder bench.

Runs BertForSequenceClassification (num_labels 1, random init, SDPA
attention) of the given shape on the very batches cuda_encoder_bench wrote
(--write-inputs), and prints one JSON line per batch file, like
cuda_encoder_bench does. Each batch is padded to its longest pair with an
attention mask, as a user of transformers would run it; one timed run goes
from token ids in host memory to scores in host memory (the same span
Cascade's timing covers).

  python3 bench/gpu/torch_gpu_bench.py --inputs DIR --shape minilm-l6 \
      [--dtype fp16|bf16|fp32] [--device cuda] [--seconds 2]

--impl plain runs the plain-torch encoder of torch_cpu_bench.py instead of
transformers (for a dry run where transformers is not installed).
"""
import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import torch

SHAPES = {
    "minilm-l6": dict(hidden=384, layers=6, heads=12, ffn=1536),
    "bert-base": dict(hidden=768, layers=12, heads=12, ffn=3072),
}
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def read_batch(path):
    data = np.fromfile(path, dtype="<i4")
    pairs, tokens = int(data[0]), int(data[1])
    offsets = data[2:3 + pairs]
    ids = data[3 + pairs:3 + pairs + tokens]
    types = data[3 + pairs + tokens:3 + pairs + 2 * tokens]
    assert len(types) == tokens, f"{path}: truncated"
    return offsets, ids, types


def pad(offsets, ids, types):
    """[pairs, longest] int64 tensors: ids, token types, attention mask."""
    lengths = np.diff(offsets)
    pairs, longest = len(lengths), int(lengths.max())
    out_ids = np.zeros((pairs, longest), dtype=np.int64)
    out_types = np.zeros((pairs, longest), dtype=np.int64)
    mask = np.zeros((pairs, longest), dtype=np.int64)
    for i in range(pairs):
        b, e = offsets[i], offsets[i + 1]
        out_ids[i, :e - b] = ids[b:e]
        out_types[i, :e - b] = types[b:e]
        mask[i, :e - b] = 1
    return [torch.from_numpy(a).pin_memory() if torch.cuda.is_available() else torch.from_numpy(a)
            for a in (out_ids, out_types, mask)]


def build_model(shape, impl, dtype, device):
    s = SHAPES[shape]
    torch.manual_seed(42)
    if impl == "transformers":
        import transformers
        config = transformers.BertConfig(
            vocab_size=30522, hidden_size=s["hidden"], num_hidden_layers=s["layers"],
            num_attention_heads=s["heads"], intermediate_size=s["ffn"],
            max_position_embeddings=512, num_labels=1)
        model = transformers.BertForSequenceClassification._from_config(
            config, attn_implementation="sdpa").to(dtype)
        version = (f"torch {torch.__version__}, transformers {transformers.__version__}, "
                   f"attention {model.config._attn_implementation}")
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from torch_cpu_bench import CrossEncoder
        model = CrossEncoder(30522, s["hidden"], s["layers"], s["heads"], s["ffn"]).to(dtype)
        version = f"torch {torch.__version__}, plain"
    return model.to(device).eval(), version


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="minilm-l6")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="fp16")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--impl", choices=["transformers", "plain"], default="transformers")
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    device = torch.device(args.device)
    model, version = build_model(args.shape, args.impl, DTYPES[args.dtype], device)
    files = sorted(glob.glob(os.path.join(args.inputs, f"{args.shape}-*.bin")))
    if not files:
        sys.exit(f"torch_gpu_bench: no {args.shape}-*.bin in {args.inputs}")

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for path in files:
        name = os.path.basename(path)[len(args.shape) + 1:-4]  # "<L|mixed>-<batch>"
        length, batch = name.rsplit("-", 1)
        offsets, ids, types = read_batch(path)
        host = pad(offsets, ids, types)

        def run():
            ids_d, types_d, mask_d = (t.to(device, non_blocking=True) for t in host)
            if args.impl == "transformers":
                logits = model(input_ids=ids_d, token_type_ids=types_d,
                               attention_mask=mask_d).logits
            else:
                logits = model(ids_d, types_d, mask_d)
            return logits.float().reshape(-1).cpu()

        with torch.inference_mode():
            for _ in range(2):
                run()
            sync()
            runs, start = 0, time.perf_counter()
            while True:
                scores = run()
                runs += 1
                elapsed = time.perf_counter() - start
                if elapsed >= args.seconds and runs >= 3:
                    break
        print(json.dumps({
            "engine": f"pytorch-{args.dtype}", "version": version, "shape": args.shape,
            "length": length, "batch": int(batch), "tokens": int(len(ids)),
            "padded_tokens": int(host[0].numel()), "runs": runs,
            "ms_per_batch": round(1000 * elapsed / runs, 3),
            "pairs_per_s": round(runs * int(batch) / elapsed, 1),
            "first_score": round(float(scores[0]), 5)}), flush=True)


if __name__ == "__main__":
    main()
