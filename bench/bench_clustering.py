"""Benchmark training and prediction of the segmentation model against plain KMeans on the same matrix.

Prints, from one run on the same machine:
- for 5,000 and 100,000 settled households, three times: preparing the data (generate,
  validate, derive features); `engine.clustering.train` (k search by silhouette, final
  pipeline fit, naming, peer rates); and one plain KMeans fit with the chosen k and the same
  n_init on the same prepared matrix. The ratio of the last two follows;
- prediction throughput in households per second: `ModelSegmenter.guess` and the fitted
  scikit-learn pipeline one household at a time (as planning calls them), the numpy batch path (`SegmentModel.encode` + `assign`), the fitted scikit-learn
  pipeline on the raw columns, and plain `KMeans.predict` on the prepared matrix, with
  ratios against plain KMeans.

Both training and the plain KMeans baseline run with one thread, as `train` does. Absolute
figures vary with the machine and its load; compare the ratios between runs.

Usage: python bench/bench_clustering.py [--sizes 5000 100000] [--seed 2026]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from engine.clustering import (
    TRAINING_THREADS,
    build_preparation,
    generated_training_data,
    household_rows,
    load_settings,
    peer_item_ids,
    pipeline_input,
    train,
)
from engine.loader import load_rulebase
from engine.segment_model import ModelSegmenter, SegmentModel, raw_table

GUESS_SAMPLE = 5000
PIPELINE_ONE_SAMPLE = 500


def timed(action):
    start = time.perf_counter()
    value = action()
    return value, time.perf_counter() - start


def bench_size(n: int, seed: int, rulebase, settings) -> None:
    item_ids = set(peer_item_ids(rulebase, settings))
    data, prepare_seconds = timed(lambda: generated_training_data(n, seed, item_ids))
    result, train_seconds = timed(lambda: train(data, rulebase, settings, seed))

    rows = household_rows(data.households)
    table = raw_table(rows, settings.numeric_features, settings.categorical_features)
    matrix = build_preparation(settings).fit_transform(pipeline_input(table))
    k = result.search.best_k
    with threadpool_limits(limits=TRAINING_THREADS):
        plain, plain_seconds = timed(lambda: KMeans(n_clusters=k, n_init=settings.n_init, random_state=seed).fit(matrix))

    print(f"\n{n} households (k searched {settings.k_min}-{settings.k_max}, chosen k={k}, "
          f"silhouette {result.search.silhouette_by_k[k]:.4f})")
    print(f"  prepare data (generate, validate, features): {prepare_seconds:8.2f} s")
    print(f"  train (k search + fit + naming + peer rates): {train_seconds:8.2f} s")
    print(f"  plain KMeans, one fit with k={k}:             {plain_seconds:8.2f} s")
    print(f"  ratio train / plain KMeans:                   {train_seconds / plain_seconds:8.1f}")

    bench_prediction(result, table, matrix, plain, rows)


def bench_prediction(result, table, matrix, plain: KMeans, rows) -> None:
    model = SegmentModel(result.parameters, "bench")
    segmenter = ModelSegmenter(model)
    sample = rows[:GUESS_SAMPLE]

    _, guess_seconds = timed(lambda: [segmenter.guess(features, needs) for features, needs in sample])
    single_rows = pipeline_input(table)[:PIPELINE_ONE_SAMPLE]
    _, pipeline_one_seconds = timed(lambda: [result.pipeline.predict(row[None, :]) for row in single_rows])
    (_, _), batch_seconds = timed(lambda: model.assign(model.encode(table)))
    _, pipeline_seconds = timed(lambda: result.pipeline.predict(pipeline_input(table)))
    _, plain_seconds = timed(lambda: plain.predict(matrix))

    plain_rate = len(table) / plain_seconds
    rates = {
        f"ModelSegmenter.guess, one at a time ({len(sample)})": len(sample) / guess_seconds,
        f"scikit-learn pipeline.predict, one at a time ({len(single_rows)})": len(single_rows) / pipeline_one_seconds,
        "numpy batch (encode + assign)": len(table) / batch_seconds,
        "scikit-learn pipeline.predict on raw columns": len(table) / pipeline_seconds,
        "plain KMeans.predict on prepared matrix": plain_rate,
    }
    print("  prediction, households per second (ratio to plain KMeans.predict):")
    for label, rate in rates.items():
        print(f"    {label:52s} {rate:12,.0f}  ({rate / plain_rate:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 100_000])
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    rulebase = load_rulebase()
    settings = load_settings()
    print(f"machine: {os.cpu_count()} CPUs; training threads: {TRAINING_THREADS}")
    for n in args.sizes:
        bench_size(n, args.seed, rulebase, settings)


if __name__ == "__main__":
    main()
