"""`linli model train`: train the household segmentation model and write it with its model card."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from engine.clustering import (
    TrainingError,
    TrainingResult,
    check_against_pipeline,
    generated_training_data,
    load_settings,
    peer_item_ids,
    read_training_file,
    train,
)
from engine.errors import InputError, RuleSetError
from engine.loader import RuleBase, display_name, load_rulebase
from engine.messages import render
from engine.model_card import build_card, card_json, card_markdown, unmatched_segments
from engine.segment_model import MODEL_FILE, SegmentModel, content_hash, dump_model
from service.cli_common import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, EXIT_USAGE, print_rule_errors


def register(subparsers, common, lang: str) -> None:
    zh = lang == "zh"
    parser = subparsers.add_parser("model", parents=[common], help="人群分类聚类模型" if zh else "segmentation model")
    commands = parser.add_subparsers(dest="model_command", metavar="COMMAND")

    train_parser = commands.add_parser(
        "train", parents=[common],
        help="训练聚类模型并写出模型卡" if zh else "train the clustering model and write its model card",
        description=("用已定居家庭训练人群分类聚类模型。不指定 --data 时，按 rules/clustering.yaml 生成合成的已定居家庭。"
                     "同一数据和种子得到逐字节相同的模型文件。") if zh else
        ("Train the segmentation model on settled households. Without --data, synthetic settled households are "
         "generated as rules/clustering.yaml says. The same data and seed give a byte-identical model file."),
    )
    train_parser.add_argument("--data", metavar="FILE", type=Path,
                              help="已定居家庭 JSON 数组（每户含 joined 列表）" if zh
                              else "JSON array of settled households, each with a joined list")
    train_parser.add_argument("--out", metavar="FILE", type=Path,
                              help="模型文件（默认：规则目录下的 model/segmenter.json）" if zh
                              else "model file (default: model/segmenter.json in the rules directory)")
    train_parser.add_argument("--seed", metavar="N", type=_seed,
                              help="随机种子（默认：clustering.yaml 的 seed）" if zh else "random seed (default: seed in clustering.yaml)")
    train_parser.add_argument("--households", metavar="N", type=_positive,
                              help="不指定 --data 时生成的户数（默认：clustering.yaml 的 population）" if zh
                              else "households to generate without --data (default: population in clustering.yaml)")
    train_parser.set_defaults(handler=run_train)
    parser.set_defaults(handler=lambda args: _print_usage(parser))


def _print_usage(parser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} < 1")
    return value


def _seed(text: str) -> int:
    """Accept a seed that both `random.Random` and scikit-learn take: 0 to 2**32 - 1."""
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"{value} ∉ [0, 4294967295]")
    return value


def _progress(lang: str):
    def wrap(values: Iterable[int], label: str) -> Iterable[int]:
        return tqdm(values, desc=render("train_progress", lang), unit="k", file=sys.stderr, leave=False)
    return wrap


def run_train(args) -> int:
    lang = args.lang
    try:
        rulebase = load_rulebase(args.rules)
        settings = load_settings(args.rules)
    except RuleSetError as exc:
        print_rule_errors(exc.problems, lang)
        return EXIT_INVALID

    seed = settings.seed if args.seed is None else args.seed
    out = args.out or rulebase.directory / MODEL_FILE
    item_ids = set(peer_item_ids(rulebase, settings))
    try:
        if args.data:
            data = read_training_file(args.data, item_ids)
        else:
            data = generated_training_data(args.households or settings.population, seed, item_ids)
        print(render("train_data", lang, source=data.source, count=len(data.households)), file=sys.stderr)
        result = train(data, rulebase, settings, seed, _progress(lang))
    except TrainingError as exc:
        print(exc.problem.message(lang), file=sys.stderr)
        return EXIT_INVALID
    except InputError as exc:
        _print_input_error(exc, args.data, lang)
        return EXIT_INVALID

    text = dump_model(result.parameters)
    version = content_hash(result.parameters.model_dump(mode="json"))[:16]
    mismatched = check_against_pipeline(result, SegmentModel(result.parameters, version), data, settings)
    if mismatched:
        print(render("train_mismatch", lang, count=mismatched), file=sys.stderr)
        return EXIT_INTERNAL

    _print_metrics(result, rulebase, lang)
    try:
        _write(out, text, result, rulebase, settings, version)
    except OSError as exc:
        print(render("train_write", lang, path=exc.filename or display_name(out), detail=exc.strerror), file=sys.stderr)
        return EXIT_INVALID
    print(render("train_written", lang, path=display_name(out), version=version, k=len(result.parameters.clusters),
                 score=result.parameters.training.silhouette), file=sys.stderr)
    print(render("train_card", lang, json=display_name(_card_path(out, ".json")),
                 markdown=display_name(_card_path(out, ".md"))), file=sys.stderr)
    return EXIT_OK


def _print_input_error(exc: InputError, data: Path | None, lang: str) -> None:
    source = display_name(data) if data else "fixtures.settled"
    print(render("train_invalid_rows", lang, count=len(exc.problems)), file=sys.stderr)
    for problem in exc.problems:
        print(f"{source}: {problem.path}: {problem.message(lang)}", file=sys.stderr)


def _print_metrics(result: TrainingResult, rulebase: RuleBase, lang: str) -> None:
    """Print silhouette by k, cluster sizes and the segment of each cluster."""
    best = result.search.best_k
    for k, score in result.search.silhouette_by_k.items():
        chosen = render("train_chosen", lang) if k == best else ""
        print(render("train_silhouette", lang, k=k, score=score, chosen=chosen), file=sys.stderr)

    total = len(result.labels)
    print(render("train_clusters", lang), file=sys.stderr)
    for index, cluster in enumerate(result.parameters.clusters):
        print(render("train_cluster", lang, cluster=index, size=cluster.size, share=cluster.size / total,
                     name=rulebase.segment_names[cluster.segment], segment=cluster.segment,
                     distance=cluster.prototype_distance), file=sys.stderr)

    unmatched = unmatched_segments(result, rulebase)
    if unmatched:
        print(render("train_unmatched", lang, segments="、".join(unmatched)), file=sys.stderr)


def _card_path(out: Path, suffix: str) -> Path:
    return out.with_name(out.stem + ".card" + suffix)


def _write(out: Path, text: str, result: TrainingResult, rulebase: RuleBase, settings, version: str) -> None:
    card = build_card(result, rulebase, settings, version, out.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    _card_path(out, ".json").write_text(card_json(card), encoding="utf-8")
    _card_path(out, ".md").write_text(card_markdown(card), encoding="utf-8")
