"""The trained segmentation model as data: its JSON file, its checks, and prediction with numpy.

A model file is plain JSON, never a pickle, so loading it runs no code from the file:

    {"format": "linli-segmenter", "format_version": 1, "content_hash": "<sha256>", "model": {...}}

`model` contains the fitted parameters of the training pipeline (scaler means and scales,
one-hot categories, the fill values of unknown needs, the cluster centres) and, per
cluster, its segment and the participation rates of similar settled households.
`content_hash` is the SHA-256 of `model` in canonical JSON (sorted keys, no spaces), and its
first 16 hex digits are the model version that every plan records.

Prediction is done here with numpy from those parameters rather than by rebuilding
scikit-learn objects. Setting fitted attributes by hand depends on scikit-learn internals
that change between releases, while the arithmetic below is the published definition of
each step. It also avoids scikit-learn's per-call input validation, which costs far more
than the arithmetic for one household. `engine.clustering` checks that this path assigns
the same clusters as the fitted pipeline.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError

from engine.errors import FieldProblem, InputError, Problem, RuleSetError, dotted_path, translate_field_error
from engine.features import HOUSEHOLD_FEATURES, UNKNOWN_NEED
from engine.loader import RuleBase, display_name
from engine.planner import SegmentGuess
from models.household import NEED_DIMENSIONS

logger = logging.getLogger(__name__)

FORMAT = "linli-segmenter"
FORMAT_VERSION = 1
NUMERIC_TYPES = ("int", "float", "bool")
ASSIGN_CHUNK = 4096  # rows per step, so a batch needs at most 4096 × k × width floats at once
MODEL_FILE = Path("model") / "segmenter.json"
"""Path of the default model file, relative to its rules directory."""


class ModelError(RuleSetError):
    """Error for a model file that cannot be used.

    It is a `RuleSetError` because the model belongs to its rules directory, so every caller
    that reports rule errors reports it too.
    """

    def __init__(self, code: str, file: str, **params: object):
        self.code = code
        self.file = file
        super().__init__([Problem(code, params, file=file)])

    def __str__(self) -> str:
        return self.problems[0].format("en")


# --- The stored parameters ---------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoricalFeature(_Strict):
    """One one-hot encoded feature and the categories seen in training, in column order."""

    feature: str
    categories: list[str] = Field(min_length=1)


class ClusterRecord(_Strict):
    """One cluster: its segment, size, distance to that segment's prototype and peer rates."""

    segment: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    size: int = Field(ge=1)
    prototype_distance: FiniteFloat = Field(ge=0)
    peer_rates: dict[str, float] = Field(default_factory=dict)


class TrainingRecord(_Strict):
    """Provenance of the model: data, seed, library versions and the k search."""

    households: int = Field(ge=1)
    data: str
    data_sha256: str
    seed: int
    k_min: int
    k_max: int
    silhouette_by_k: dict[str, FiniteFloat]
    silhouette: FiniteFloat
    sklearn_version: str
    numpy_version: str
    prototypes_sha256: str


class ModelParameters(_Strict):
    """Everything needed to assign a household to a cluster, as stored in the file."""

    numeric_features: list[str] = Field(min_length=1)
    numeric_mean: list[FiniteFloat]
    numeric_scale: list[FiniteFloat]
    categorical: list[CategoricalFeature] = Field(default_factory=list)
    needs: list[str]
    needs_fill: list[FiniteFloat]
    needs_mean: list[FiniteFloat]
    needs_scale: list[FiniteFloat]
    centres: list[list[FiniteFloat]] = Field(min_length=2)
    temperature: FiniteFloat = Field(gt=0)
    clusters: list[ClusterRecord] = Field(min_length=2)
    training: TrainingRecord

    def width(self) -> int:
        return len(self.numeric_features) + sum(len(c.categories) for c in self.categorical) + len(self.needs)


def canonical_json(data: object) -> bytes:
    """Serialise for hashing: sorted keys, no spaces, UTF-8. Floats use Python's exact repr."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def content_hash(model: dict) -> str:
    return hashlib.sha256(canonical_json(model)).hexdigest()


def dump_model(parameters: ModelParameters) -> str:
    """Return the model file text. The same parameters always give the same bytes."""
    model = parameters.model_dump(mode="json")
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "content_hash": content_hash(model), "model": model}
    return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


# --- Reading and checking a file ---------------------------------------------------------


def load_model(path: Path, display_path: str | None = None) -> SegmentModel:
    """Read, verify and check a model file.

    Raises:
        ModelError: the file cannot be read, is not JSON, has another format or version,
            does not match its content hash, or its parameters are inconsistent.
    """
    display_path = display_path or str(path)
    document = _read_document(path, display_path)
    model = _verified_model(document, display_path)
    try:
        parameters = ModelParameters.model_validate(model)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise ModelError("model_invalid", display_path, field="model." + dotted_path(error["loc"]),
                         detail=translate_field_error(error)[0]) from None

    _check_consistency(parameters, display_path)
    return SegmentModel(parameters, document["content_hash"][:16])


def _read_document(path: Path, display_path: str) -> dict:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError("model_file", display_path, detail=getattr(exc, "strerror", None) or exc) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError("model_json", display_path, line=exc.lineno, column=exc.colno, detail=exc.msg) from None

    found = document.get("format") if isinstance(document, dict) else None
    version = document.get("format_version") if isinstance(document, dict) else None
    if found != FORMAT or version != FORMAT_VERSION:
        raise ModelError("model_format", display_path, found=f"{found} {version}", expected=FORMAT, version=FORMAT_VERSION)
    return document


def _verified_model(document: dict, display_path: str) -> dict:
    """Return the `model` part after checking it against `content_hash`.

    NOTE: the hash detects damage and hand edits only. It is not a signature, because anyone
    who can write the rules directory can also write a matching hash.
    """
    model = document.get("model")
    recorded = document.get("content_hash")
    if not isinstance(model, dict) or not isinstance(recorded, str):
        raise ModelError("model_invalid", display_path, field="model / content_hash", detail="缺少模型参数或内容哈希")
    try:
        actual = content_hash(model)
    except ValueError:
        actual = "（含 NaN 或无穷大，无法计算）"
    if actual != recorded:
        raise ModelError("model_hash", display_path, recorded=recorded[:16], actual=actual[:16])
    return model


def _check_consistency(p: ModelParameters, display_path: str) -> None:
    """Check what pydantic cannot: lengths, known features and categories, scales and rates."""
    def fail(field: str, detail: str) -> None:
        raise ModelError("model_invalid", display_path, field=field, detail=detail)

    for index, name in enumerate(p.numeric_features):
        spec = HOUSEHOLD_FEATURES.get(name)
        if spec is None or spec.type not in NUMERIC_TYPES:
            fail(f"model.numeric_features[{index}]", f"“{name}”不是本程序的数值家庭特征")
    for index, feature in enumerate(p.categorical):
        spec = HOUSEHOLD_FEATURES.get(feature.feature)
        if spec is None or spec.type != "str":
            fail(f"model.categorical[{index}].feature", f"“{feature.feature}”不是本程序的文字家庭特征")
        unknown = [c for c in feature.categories if c not in spec.values]
        if unknown:
            fail(f"model.categorical[{index}].categories", f"“{unknown[0]}”不是“{feature.feature}”的取值")
    if p.needs != list(NEED_DIMENSIONS):
        fail("model.needs", "需求维度与本程序的十个维度不一致")

    for field, values, expected in (("numeric_mean", p.numeric_mean, len(p.numeric_features)),
                                    ("numeric_scale", p.numeric_scale, len(p.numeric_features)),
                                    ("needs_fill", p.needs_fill, len(p.needs)),
                                    ("needs_mean", p.needs_mean, len(p.needs)),
                                    ("needs_scale", p.needs_scale, len(p.needs))):
        if len(values) != expected:
            fail(f"model.{field}", f"应有 {expected} 个值，实际 {len(values)} 个")
    if any(s <= 0 for s in p.numeric_scale + p.needs_scale):
        fail("model.numeric_scale / needs_scale", "标准化的尺度必须大于 0")

    if len(p.clusters) != len(p.centres):
        fail("model.clusters", f"聚类数 {len(p.clusters)} 与中心数 {len(p.centres)} 不一致")
    for index, centre in enumerate(p.centres):
        if len(centre) != p.width():
            fail(f"model.centres[{index}]", f"应有 {p.width()} 维，实际 {len(centre)} 维")
    for index, cluster in enumerate(p.clusters):
        for item, rate in cluster.peer_rates.items():
            if not 0 <= rate <= 1 or math.isnan(rate):
                fail(f"model.clusters[{index}].peer_rates.{item}", f"参与率应在 0–1 之间，实际是 {rate}")


# --- Prediction ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawTable:
    """Households as the model's columns before scaling: numbers, category words and needs.

    Unknown needs are NaN here and get the training median when encoded.
    """

    numeric: np.ndarray
    categorical: np.ndarray
    needs: np.ndarray

    def __len__(self) -> int:
        return len(self.numeric)


def raw_table(rows: list[tuple[dict[str, object], dict[str, int]]], numeric: list[str],
              categorical: list[str]) -> RawTable:
    """Build the model's input columns from (features, needs) pairs, checking every value.

    Raises:
        InputError: a feature is missing or not a finite number, or a need is not an
            integer from 0 to 4 or -1 (unknown). The field path carries the row number
            when there is more than one row.
    """
    numbers = np.empty((len(rows), len(numeric)), dtype=float)
    words = np.empty((len(rows), len(categorical)), dtype=object)
    needs = np.empty((len(rows), len(NEED_DIMENSIONS)), dtype=float)
    problems: list[FieldProblem] = []

    for index, (features, need_values) in enumerate(rows):
        prefix = f"[{index}]." if len(rows) > 1 else ""
        for column, name in enumerate(numeric):
            numbers[index, column] = _number(features, name, prefix, problems)
        for column, name in enumerate(categorical):
            words[index, column] = _word(features, name, prefix, problems)
        for column, name in enumerate(NEED_DIMENSIONS):
            needs[index, column] = _need(need_values, name, prefix, problems)

    if problems:
        raise InputError(problems)
    return RawTable(numbers, words, needs)


def _number(features: dict[str, object], name: str, prefix: str, problems: list[FieldProblem]) -> float:
    value = features.get(name)
    if isinstance(value, (bool, int, float)) and math.isfinite(value):
        return float(value)
    problems.append(FieldProblem(f"{prefix}household.{name}", "model_feature",
                                 f"聚类模型需要有限的数值，实际是 {value!r}",
                                 f"the clustering model needs a finite number, got {value!r}"))
    return 0.0


def _word(features: dict[str, object], name: str, prefix: str, problems: list[FieldProblem]) -> str:
    value = features.get(name)
    if isinstance(value, str):
        return value
    problems.append(FieldProblem(f"{prefix}household.{name}", "model_feature",
                                 f"聚类模型需要文字取值，实际是 {value!r}",
                                 f"the clustering model needs a text value, got {value!r}"))
    return ""


def _need(needs: dict[str, int], name: str, prefix: str, problems: list[FieldProblem]) -> float:
    value = needs.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and UNKNOWN_NEED <= value <= 4:
        return math.nan if value == UNKNOWN_NEED else float(value)
    problems.append(FieldProblem(f"{prefix}needs.{name}", "need_score",
                                 f"需求分值应为 0–4 的整数（未知为 -1），实际是 {value!r}",
                                 f"need score must be an integer 0-4 (-1 for unknown), got {value!r}"))
    return 0.0


class SegmentModel:
    """A checked model file: encodes households and assigns clusters, segments and confidences."""

    def __init__(self, parameters: ModelParameters, version: str):
        self.parameters = parameters
        self.version = version
        p = parameters
        self.numeric_features = list(p.numeric_features)
        self.categorical_features = [c.feature for c in p.categorical]
        self._mean = np.array(p.numeric_mean)
        self._scale = np.array(p.numeric_scale)
        self._categories = [{word: i for i, word in enumerate(c.categories)} for c in p.categorical]
        self._fill = np.array(p.needs_fill)
        self._needs_mean = np.array(p.needs_mean)
        self._needs_scale = np.array(p.needs_scale)
        self._centres = np.array(p.centres)
        self._segments = [c.segment for c in p.clusters]
        self._same_segment = np.array([[a == b for b in self._segments] for a in self._segments])

    @property
    def segments(self) -> list[str]:
        """Segment of each cluster, by cluster number."""
        return list(self._segments)

    def encode(self, table: RawTable) -> np.ndarray:
        """Scale numbers, one-hot encode words (an unseen word gives all zeros), fill and scale needs."""
        numeric = (table.numeric - self._mean) / self._scale
        blocks = [numeric]
        for column, categories in enumerate(self._categories):
            onehot = np.zeros((len(table), len(categories)))
            for row, word in enumerate(table.categorical[:, column]):
                position = categories.get(word)
                if position is not None:
                    onehot[row, position] = 1.0
            blocks.append(onehot)
        needs = np.where(np.isnan(table.needs), self._fill, table.needs)
        blocks.append((needs - self._needs_mean) / self._needs_scale)
        return np.hstack(blocks)

    def assign(self, encoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the nearest cluster of each row and the confidence in that cluster's segment.

        The confidence is a softmax over negative squared distances to all centres, divided
        by the temperature (the mean squared distance of training households to their own
        centre), summed over the clusters that carry the same segment. It ranks households by
        how clearly they sit in their segment but is not a calibrated probability.
        """
        chunks = [self._squared_distances(encoded[start:start + ASSIGN_CHUNK])
                  for start in range(0, len(encoded), ASSIGN_CHUNK)]
        squared = np.vstack(chunks) if chunks else np.empty((0, len(self._centres)))
        clusters = squared.argmin(axis=1)
        logits = -squared / self.parameters.temperature
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        confidence = (weights * self._same_segment[clusters]).sum(axis=1)
        return clusters, confidence

    def _squared_distances(self, encoded: np.ndarray) -> np.ndarray:
        return ((encoded[:, None, :] - self._centres[None, :, :]) ** 2).sum(axis=2)

    def predict(self, table: RawTable) -> np.ndarray:
        return self.assign(self.encode(table))[0]


class ModelSegmenter:
    """The `engine.planner.Segmenter` backed by a model file."""

    def __init__(self, model: SegmentModel):
        self.model = model
        self.version = model.version

    @classmethod
    def from_file(cls, path: Path, display_path: str | None = None) -> ModelSegmenter:
        return cls(load_model(path, display_path))

    def guess(self, features: dict[str, object], needs: dict[str, int]) -> SegmentGuess:
        """Return the segment, cluster, confidence and peer rates of one household.

        Raises:
            InputError: a feature the model uses is missing or not finite, or a need is out of range.
        """
        table = raw_table([(features, needs)], self.model.numeric_features, self.model.categorical_features)
        clusters, confidence = self.model.assign(self.model.encode(table))
        cluster = int(clusters[0])
        record = self.model.parameters.clusters[cluster]
        return SegmentGuess(record.segment, cluster, float(confidence[0]), dict(record.peer_rates))


def check_model_segments(segmenter: ModelSegmenter, segment_ids: set[str], display_path: str) -> None:
    """Check that every segment the model names exists in the rules.

    Raises:
        ModelError: a cluster names a segment that `segments.yaml` does not define.
    """
    for index, segment in enumerate(segmenter.model.segments):
        if segment not in segment_ids:
            raise ModelError("model_unknown_segment", display_path, cluster=index, segment=segment,
                             allowed="、".join(sorted(segment_ids)))


def load_segmenter(rulebase: RuleBase, path: Path | None = None) -> ModelSegmenter | None:
    """Load the model that plans with `rulebase`: `path`, else the default file in its directory.

    Returns:
        The segmenter, or None when no path is given and the default file does not exist.

    Raises:
        ModelError: the file is invalid or names a segment the rules do not define.
    """
    explicit = path is not None
    path = path if explicit else rulebase.directory / MODEL_FILE
    if not explicit and not path.is_file():
        return None

    # The rule-set version hashes the YAML files only. service.state also compares the model's
    # own version, so a reload picks up a retrained model file.
    display_path = display_name(path)
    segmenter = ModelSegmenter.from_file(path, display_path)
    check_model_segments(segmenter, set(rulebase.segment_names), display_path)
    if segmenter.model.parameters.training.prototypes_sha256 != prototypes_sha256(rulebase):
        logger.warning("model %s was trained on other segment prototypes than segments.yaml contains; "
                       "retrain it with `linli model train`", display_path)
    logger.info("loaded segmentation model %s from %s: %d clusters", segmenter.version, display_path,
                len(segmenter.model.segments))
    return segmenter


def prototypes_sha256(rulebase: RuleBase) -> str:
    """Hash of the segment prototypes, to tell whether a model was named against them."""
    prototypes = {s.id: s.prototype for s in rulebase.segments.segments}
    return hashlib.sha256(json.dumps(prototypes, sort_keys=True).encode()).hexdigest()
