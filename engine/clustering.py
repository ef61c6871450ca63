"""Train the household segmentation model: settled households in, a checked model file out.

settled households → derived features and needs → scikit-learn Pipeline → clusters named
after the nearest segment prototype of `segments.yaml` → per-cluster participation rates →
model file. The Pipeline is a ColumnTransformer followed by KMeans. The ColumnTransformer
applies StandardScaler to numeric features, OneHotEncoder to word features, and a median
fill and StandardScaler to the ten needs.

k is the value in [k_min, k_max] of `rules/clustering.yaml` with the highest silhouette
coefficient. The silhouette is computed on a seeded sample of the prepared matrix, and a
tie goes to the smaller k.
The same data, settings and seed give the same model file byte for byte with the same
library versions, because every random step takes the seed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
from pydantic import ValidationError
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from engine.errors import (
    FieldProblem,
    InputError,
    Problem,
    RuleSetError,
    input_error_from_validation,
    translate_field_error,
)
from engine.features import HOUSEHOLD_FEATURES, derive_features, derive_needs
from engine.loader import RuleBase, display_name, rules_directory
from engine.segment_model import (
    NUMERIC_TYPES,
    CategoricalFeature,
    ClusterRecord,
    ModelParameters,
    RawTable,
    SegmentModel,
    TrainingRecord,
    prototypes_sha256,
    raw_table,
)
from engine.yaml_loader import load_yaml_file
from models.clustering import ClusteringSettings
from models.household import NEED_DIMENSIONS, Household

logger = logging.getLogger(__name__)

SETTINGS_FILE = "clustering.yaml"
JOINED_KEY = "joined"
TRAINING_THREADS = 1

Progress = Callable[[Iterable[int], str], Iterable[int]]


class TrainingError(Exception):
    """Error that stops training; `problem` gives the reason as a message-catalogue entry."""

    def __init__(self, code: str, **params: object):
        self.problem = Problem(code, params)
        super().__init__(self.problem.message("en"))


# --- Settings --------------------------------------------------------------------------------


def load_settings(rules_dir: Path | str | None = None) -> ClusteringSettings:
    """Read `clustering.yaml` of the rules directory and check its feature names.

    Raises:
        RuleSetError: with file, line and column of each problem.
    """
    path = rules_directory(rules_dir) / SETTINGS_FILE
    if not path.is_file():
        raise RuleSetError([Problem("missing_file", {"name": display_name(path)}, display_name(path.parent))])
    loaded = load_yaml_file(path, display_name(path))
    errors = [p for p in loaded.problems if p.severity == "error"]
    if errors:
        raise RuleSetError(loaded.problems)

    try:
        settings = ClusteringSettings.model_validate(loaded.data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            chinese, english = translate_field_error(error)
            problems.append(loaded.problem("schema", tuple(error["loc"]), detail_zh=chinese, detail_en=english))
        raise RuleSetError(problems) from None

    problems = _feature_problems(loaded, "numeric_features", settings.numeric_features, NUMERIC_TYPES,
                                 "数值或是/否", "number or yes/no")
    problems += _feature_problems(loaded, "categorical_features", settings.categorical_features, ("str",),
                                  "文字", "text")
    if problems:
        raise RuleSetError(problems)
    return settings


def _feature_problems(loaded, key: str, names: list[str], types: tuple[str, ...], kind: str,
                      kind_en: str) -> list[Problem]:
    allowed = [name for name, spec in HOUSEHOLD_FEATURES.items() if spec.type in types]
    return [loaded.problem("clustering_feature", (key, index), name=name, kind=kind, kind_en=kind_en,
                           allowed="、".join(allowed))
            for index, name in enumerate(names) if name not in allowed]


# --- Training data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingData:
    """Settled households with what each joined, and where they came from."""

    households: list[Household]
    joined: list[frozenset[str]]
    source: str
    sha256: str


def training_data_from_records(records: object, source: str, sha256: str, item_ids: set[str]) -> TrainingData:
    """Check JSON records (households plus `joined`) and keep them all, or report every bad row.

    Raises:
        InputError: the records are not a list, or rows have invalid fields or unknown item ids;
            each problem names its row (0-based) and field path.
    """
    if not isinstance(records, list):
        raise InputError([FieldProblem("$", "not_list", "训练数据应为 JSON 数组（家庭列表）",
                                       "training data must be a JSON array of households")])
    households, joined, problems = [], [], []
    for row, record in enumerate(records):
        household, items, row_problems = _training_row(row, record, item_ids)
        problems += row_problems
        if household is not None:
            households.append(household)
            joined.append(items)
    if problems:
        raise InputError(problems, code="invalid_training_data")
    return TrainingData(households, joined, source, sha256)


def _training_row(row: int, record: object, item_ids: set[str]) -> tuple[Household | None, frozenset[str], list]:
    if not isinstance(record, dict):
        return None, frozenset(), [FieldProblem(f"[{row}]", "not_object", "每户应为 JSON 对象",
                                                "each household must be a JSON object", row=row)]
    fields = dict(record)
    raw_joined = fields.pop(JOINED_KEY, [])
    problems: list[FieldProblem] = []
    if not isinstance(raw_joined, list) or not all(isinstance(i, str) for i in raw_joined):
        problems.append(FieldProblem(f"[{row}].{JOINED_KEY}", "joined", "joined 应为项目 id 的列表",
                                     "joined must be a list of item ids", row=row))
        raw_joined = []
    for index, item in enumerate(raw_joined):
        if item not in item_ids:
            problems.append(FieldProblem(f"[{row}].{JOINED_KEY}[{index}]", "unknown_item",
                                         f"目录中没有可计算参与率的项目“{item}”",
                                         f"no catalogue item '{item}' of a peer kind", row=row))
    try:
        household = Household.model_validate(fields)
    except ValidationError as exc:
        for problem in input_error_from_validation(exc, (row,)).problems:
            problems.append(FieldProblem(problem.path, problem.type, problem.message_zh, problem.message_en, row=row))
        household = None
    return household, frozenset(raw_joined), problems


def read_training_file(path: Path, item_ids: set[str]) -> TrainingData:
    """Read a JSON file of settled households (the output of `python -m fixtures.settled`).

    Raises:
        TrainingError: the file cannot be read, is empty or is not JSON.
        InputError: rows are invalid (see `training_data_from_records`).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TrainingError("input_file", path=display_name(path), detail=exc.strerror) from None
    text = raw.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise TrainingError("train_empty", path=display_name(path))
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TrainingError("input_json", line=exc.lineno, column=exc.colno, detail=exc.msg) from None
    return training_data_from_records(records, display_name(path), hashlib.sha256(raw).hexdigest(), item_ids)


def generated_training_data(n: int, seed: int, item_ids: set[str]) -> TrainingData:
    """Generate the settled fixture population (`fixtures.settled`) and check it like a file."""
    from fixtures.generate import dump_households
    from fixtures.settled import generate_settled

    records = generate_settled(n, seed)
    text = dump_households(records)
    source = f"python -m fixtures.settled --n {n} --seed {seed}"
    return training_data_from_records(records, source, hashlib.sha256(text.encode()).hexdigest(), item_ids)


# --- The pipeline ----------------------------------------------------------------------------


def build_preparation(settings: ClusteringSettings) -> ColumnTransformer:
    """Return the unfitted ColumnTransformer. Input columns: numeric features, word features, ten needs."""
    numeric = list(range(len(settings.numeric_features)))
    words = list(range(len(numeric), len(numeric) + len(settings.categorical_features)))
    needs = list(range(len(numeric) + len(words), len(numeric) + len(words) + len(NEED_DIMENSIONS)))
    return ColumnTransformer([
        ("numeric", StandardScaler(), numeric),
        ("words", OneHotEncoder(handle_unknown="ignore", sparse_output=False), words),
        ("needs", Pipeline([("fill", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), needs),
    ])


def build_pipeline(settings: ClusteringSettings, k: int, seed: int) -> Pipeline:
    """Return the unfitted pipeline: preparation, then KMeans with `k` clusters."""
    kmeans = KMeans(n_clusters=k, n_init=settings.n_init, random_state=seed)
    return Pipeline([("prepare", build_preparation(settings)), ("cluster", kmeans)])


def pipeline_input(table: RawTable) -> np.ndarray:
    """Join the raw columns into the object matrix the ColumnTransformer reads."""
    return np.hstack([table.numeric.astype(object), table.categorical, table.needs.astype(object)])


def household_rows(households: list[Household]) -> list[tuple[dict[str, object], dict[str, int]]]:
    return [(derive_features(h), derive_needs(h)) for h in households]


@dataclass(frozen=True)
class KSearch:
    silhouette_by_k: dict[int, float]
    best_k: int


def search_k(matrix: np.ndarray, settings: ClusteringSettings, seed: int, progress: Progress) -> KSearch:
    """Fit KMeans for each k of the range and keep the k with the highest sampled silhouette."""
    distinct = len(np.unique(matrix.round(9), axis=0))
    k_max = min(settings.k_max, distinct - 1, len(matrix) - 1)
    if k_max < settings.k_min:
        raise TrainingError("train_too_few_distinct", distinct=distinct, k_min=settings.k_min)

    sample = min(settings.silhouette_sample, len(matrix))
    scores: dict[int, float] = {}
    for k in progress(range(settings.k_min, k_max + 1), "k"):
        labels = KMeans(n_clusters=k, n_init=settings.n_init, random_state=seed).fit_predict(matrix)
        scores[k] = float(silhouette_score(matrix, labels, sample_size=sample, random_state=seed))
    best = max(scores, key=lambda k: (scores[k], -k))
    return KSearch(scores, best)


# --- Naming clusters and peer rates ------------------------------------------------------


def prototype_table(rows: list[tuple[dict[str, object], dict[str, int]]], keys: list[str]) -> np.ndarray:
    """Raw values of the prototype keys (features or needs) per household; unknown needs are NaN."""
    table = np.empty((len(rows), len(keys)))
    for index, (features, needs) in enumerate(rows):
        for column, key in enumerate(keys):
            value = needs[key] if key in needs else features[key]
            table[index, column] = np.nan if key in needs and value < 0 else float(value)
    return table


def prototype_keys(rulebase: RuleBase) -> list[str]:
    """Collect the prototype keys of `segments.yaml`, checking that each is a numeric feature or a need.

    Raises:
        TrainingError: a prototype names a word or list feature, which has no typical number.
    """
    keys: list[str] = []
    for segment in rulebase.segments.segments:
        for key in segment.prototype:
            spec = HOUSEHOLD_FEATURES.get(key)
            if key not in NEED_DIMENSIONS and (spec is None or spec.type not in NUMERIC_TYPES):
                raise TrainingError("train_prototype_key", segment=segment.id, key=key)
            keys.append(key)
    if not keys:
        raise TrainingError("train_no_prototypes")
    return list(dict.fromkeys(keys))


def name_clusters(values: np.ndarray, labels: np.ndarray, k: int, keys: list[str],
                  rulebase: RuleBase) -> list[tuple[str, float]]:
    """Give each cluster the segment whose prototype is nearest to the cluster's means.

    Every prototype is compared over the same keys, the union of all prototype keys. A key
    that a prototype leaves out takes the training mean, so "general: size 3" reads as an
    average household of three, not as a household that may be anything else. Distance =
    root mean square over the keys of (cluster mean − prototype value) divided by the key's
    standard deviation in the training data.
    """
    population = np.nanmean(values, axis=0)
    spread = np.nanstd(values, axis=0)
    spread[~(spread > 0)] = 1.0
    targets = {segment.id: np.array([segment.prototype.get(key, population[i]) for i, key in enumerate(keys)])
               for segment in rulebase.segments.segments if segment.prototype}

    names = []
    for cluster in range(k):
        means = np.nanmean(values[labels == cluster], axis=0)
        distances = {segment: float(np.sqrt(np.mean(np.square((means - target) / spread))))
                     for segment, target in targets.items()}
        nearest = min(distances, key=lambda segment: (distances[segment], segment))
        names.append((nearest, round(distances[nearest], 6)))
    return names


def peer_rates(joined: list[frozenset[str]], labels: np.ndarray, k: int, item_ids: list[str],
               min_households: int) -> list[dict[str, float]]:
    """Share of each cluster's households that joined each item; empty for small clusters."""
    rates = []
    for cluster in range(k):
        members = [joined[i] for i in np.flatnonzero(labels == cluster)]
        if len(members) < min_households:
            rates.append({})
            continue
        counts = {item: sum(item in j for j in members) for item in item_ids}
        rates.append({item: round(count / len(members), 4) for item, count in counts.items() if count})
    return rates


def peer_item_ids(rulebase: RuleBase, settings: ClusteringSettings) -> list[str]:
    return [item.id for item in rulebase.items.values() if item.kind in settings.peer_kinds]


# --- Training --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingResult:
    """The model, the fitted pipeline it was read from, and what `linli model train` prints."""

    parameters: ModelParameters
    pipeline: Pipeline
    labels: np.ndarray
    search: KSearch
    cluster_means: dict[str, list[float]]


def _no_progress(values: Iterable[int], label: str) -> Iterable[int]:
    return values


def train(data: TrainingData, rulebase: RuleBase, settings: ClusteringSettings, seed: int,
          progress: Progress = _no_progress) -> TrainingResult:
    """Train the model on `data`, with `seed` for every random step.

    Raises:
        TrainingError: too few households or distinct profiles for the k range, or a prototype
            that cannot be matched.
    """
    if len(data.households) < settings.min_households:
        raise TrainingError("train_too_few", count=len(data.households), minimum=settings.min_households)
    keys = prototype_keys(rulebase)

    rows = household_rows(data.households)
    table = raw_table(rows, settings.numeric_features, settings.categorical_features)
    matrix_input = pipeline_input(table)
    # KMeans sums over chunks in OpenMP threads, and another thread count changes the last
    # bits of the centres. One thread keeps the model file the same on every machine.
    with threadpool_limits(limits=TRAINING_THREADS):
        search = search_k(build_preparation(settings).fit_transform(matrix_input), settings, seed, progress)
        pipeline = build_pipeline(settings, search.best_k, seed).fit(matrix_input)
    labels = pipeline.named_steps["cluster"].labels_
    values = prototype_table(rows, keys)
    names = name_clusters(values, labels, search.best_k, keys, rulebase)
    rates = peer_rates(data.joined, labels, search.best_k, peer_item_ids(rulebase, settings),
                       settings.min_peer_households)

    parameters = _parameters(pipeline, settings, data, seed, search, names, rates, labels, rulebase)
    means = {key: [round(float(np.nanmean(values[labels == c, i])), 3) for c in range(search.best_k)]
             for i, key in enumerate(keys)}
    logger.info("trained segmentation model on %d households: k=%d, silhouette %.3f",
                len(data.households), search.best_k, search.silhouette_by_k[search.best_k])
    return TrainingResult(parameters, pipeline, labels, search, means)


def _parameters(pipeline: Pipeline, settings: ClusteringSettings, data: TrainingData, seed: int,
                search: KSearch, names: list[tuple[str, float]], rates: list[dict[str, float]],
                labels: np.ndarray, rulebase: RuleBase) -> ModelParameters:
    """Read the fitted parameters out of the pipeline into the stored form."""
    prepare = pipeline.named_steps["prepare"]
    kmeans = pipeline.named_steps["cluster"]
    scaler = prepare.named_transformers_["numeric"]
    encoder = prepare.named_transformers_["words"]
    needs = prepare.named_transformers_["needs"]
    sizes = np.bincount(labels, minlength=search.best_k)

    return ModelParameters(
        numeric_features=list(settings.numeric_features),
        numeric_mean=_floats(scaler.mean_),
        numeric_scale=_floats(scaler.scale_),
        categorical=[CategoricalFeature(feature=name, categories=[str(c) for c in categories])
                     for name, categories in zip(settings.categorical_features, encoder.categories_, strict=True)],
        needs=list(NEED_DIMENSIONS),
        needs_fill=_floats(needs.named_steps["fill"].statistics_),
        needs_mean=_floats(needs.named_steps["scale"].mean_),
        needs_scale=_floats(needs.named_steps["scale"].scale_),
        centres=[_floats(centre) for centre in kmeans.cluster_centers_],
        temperature=float(kmeans.inertia_) / len(labels),
        clusters=[ClusterRecord(segment=segment, size=int(size), prototype_distance=distance, peer_rates=rate)
                  for (segment, distance), size, rate in zip(names, sizes, rates, strict=True)],
        training=TrainingRecord(
            households=len(data.households), data=data.source, data_sha256=data.sha256, seed=seed,
            k_min=settings.k_min, k_max=settings.k_max,
            silhouette_by_k={str(k): round(v, 6) for k, v in search.silhouette_by_k.items()},
            silhouette=round(search.silhouette_by_k[search.best_k], 6),
            sklearn_version=sklearn.__version__, numpy_version=np.__version__,
            prototypes_sha256=prototypes_sha256(rulebase),
        ),
    )


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]


def check_against_pipeline(result: TrainingResult, model: SegmentModel, data: TrainingData,
                           settings: ClusteringSettings) -> int:
    """Count training households that the stored model assigns to another cluster than the pipeline."""
    table = raw_table(household_rows(data.households), settings.numeric_features, settings.categorical_features)
    return int((model.predict(table) != result.pipeline.predict(pipeline_input(table))).sum())


def environment() -> dict[str, str]:
    """Return the library versions and BLAS kernels that the model's last bits depend on, for the model card."""
    blas = sorted({f"{pool['internal_api']} {pool.get('version')} {pool.get('architecture')}"
                   for pool in threadpool_info() if pool["user_api"] == "blas"})
    return {"python": platform.python_version(), "scikit_learn": sklearn.__version__, "numpy": np.__version__,
            "blas": "; ".join(blas)}
