"""The model card of a trained segmentation model: JSON for tools, a short Chinese Markdown page for people.

The card contains no timestamp, so retraining with the same data and seed rewrites it byte for byte.
"""

from __future__ import annotations

import json

from engine.clustering import TrainingResult, environment
from engine.loader import RuleBase
from engine.segment_model import FORMAT, FORMAT_VERSION
from models.clustering import ClusteringSettings

TOP_PEER_ITEMS = 3

METHOD = {
    "pipeline": "ColumnTransformer(StandardScaler on numeric features; OneHotEncoder(handle_unknown='ignore') "
                "on text features; median fill of unknown needs, then StandardScaler on the ten needs) → KMeans",
    "k_selection": "highest silhouette coefficient on a seeded sample, for k in [k_min, k_max]; ties go to the smaller k",
    "naming": "nearest segment prototype of segments.yaml; keys a prototype leaves out take the training mean; "
              "distance = RMS of standardised differences",
    "confidence": "softmax of -d²/T over all centres (T = mean squared distance of training households to their "
                  "own centre), summed over the clusters of the assigned segment; a heuristic, not a calibrated "
                  "probability",
    "peer_rates": "share of a cluster's training households that joined each interest group or volunteer task; "
                  "none for clusters smaller than min_peer_households",
}

LIMITATIONS = [
    "Trained on synthetic settled households (fixtures/settled.py) unless --data names real data; the joined "
    "groups and tasks are drawn from assumed shares.",
    "Silhouette values of neighbouring k are close, so a small change of data or seed can change k.",
    "Confidence compares distances to centres; it is not a calibrated probability.",
    "Segment rules always win over the model; the model only names households that no segment rule classifies.",
]

LIMITATIONS_ZH = [
    "默认训练数据是合成的已定居家庭（fixtures/settled.py），参加的小组和任务按假设比例抽取。",
    "相邻 k 的轮廓系数相差很小，数据或种子稍有变化，选出的 k 就可能不同。",
    "置信度由到各聚类中心的距离换算而来，不是经过校准的概率。",
    "规则判定的分类总是优先；模型只为没有规则判定的家庭给出分类。",
]


def build_card(result: TrainingResult, rulebase: RuleBase, settings: ClusteringSettings, version: str,
               model_file: str) -> dict[str, object]:
    """Describe a trained model: where it came from, how it works, its clusters and its limits."""
    p = result.parameters
    total = sum(c.size for c in p.clusters)
    return {
        "model": {"file": model_file, "version": version, "format": FORMAT, "format_version": FORMAT_VERSION},
        "training": p.training.model_dump(mode="json"),
        "settings": settings.model_dump(mode="json"),
        "method": METHOD,
        "metrics": {
            "k": len(p.clusters),
            "silhouette": p.training.silhouette,
            "silhouette_by_k": p.training.silhouette_by_k,
            "cluster_sizes": [c.size for c in p.clusters],
            "temperature": p.temperature,
        },
        "clusters": [_cluster_entry(result, rulebase, index, total) for index in range(len(p.clusters))],
        "segments_without_cluster": unmatched_segments(result, rulebase),
        "environment": environment(),
        "limitations": LIMITATIONS,
    }


def _cluster_entry(result: TrainingResult, rulebase: RuleBase, index: int, total: int) -> dict[str, object]:
    cluster = result.parameters.clusters[index]
    top = sorted(cluster.peer_rates.items(), key=lambda pair: (-pair[1], pair[0]))[:TOP_PEER_ITEMS]
    return {
        "cluster": index,
        "segment": cluster.segment,
        "segment_name": rulebase.segment_names[cluster.segment],
        "size": cluster.size,
        "share": round(cluster.size / total, 4),
        "prototype_distance": cluster.prototype_distance,
        "means": {key: values[index] for key, values in result.cluster_means.items()},
        "top_peer_rates": [{"item": item, "name": rulebase.items[item].name, "rate": rate} for item, rate in top],
    }


def unmatched_segments(result: TrainingResult, rulebase: RuleBase) -> list[str]:
    """Segments that no cluster is named after, in `segments.yaml` order."""
    named = {c.segment for c in result.parameters.clusters}
    return [s.id for s in rulebase.segments.segments if s.id not in named]


def card_json(card: dict[str, object]) -> str:
    return json.dumps(card, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def card_markdown(card: dict[str, object]) -> str:
    """Render the short Chinese summary of a card."""
    model, training, metrics = card["model"], card["training"], card["metrics"]
    lines = [
        "# 人群分类聚类模型卡",
        "",
        f"- 模型文件：`{model['file']}`，版本 `{model['version']}`（内容哈希前 16 位）",
        f"- 训练数据：{training['data']}，{training['households']} 户，种子 {training['seed']}",
        f"- 方法：标准化数值特征、独热编码文字特征、十个需求维度（未知取中位数）→ KMeans；"
        f"在 k={training['k_min']}–{training['k_max']} 中取轮廓系数最高的 k",
        f"- 结果：k={metrics['k']}，轮廓系数 {metrics['silhouette']:.4f}",
        f"- 软件版本：scikit-learn {training['sklearn_version']}，numpy {training['numpy_version']}",
        "",
        "## 聚类与人群分类",
        "",
        "| 聚类 | 户数 | 占比 | 人群分类 | 原型距离 | 参与率最高的项目 |",
        "| --- | ---: | ---: | --- | ---: | --- |",
    ]
    for entry in card["clusters"]:
        peers = "、".join(f"{p['name']} {p['rate']:.0%}" for p in entry["top_peer_rates"]) or "（样本太少，不给出）"
        lines.append(f"| {entry['cluster']} | {entry['size']} | {entry['share']:.1%} | {entry['segment_name']}"
                     f"（{entry['segment']}） | {entry['prototype_distance']:.3f} | {peers} |")

    unmatched = card["segments_without_cluster"]
    lines += ["", "没有聚类对应的分类：" + ("、".join(unmatched) if unmatched else "无") + "。", "", "## 局限", ""]
    lines += [f"- {text}" for text in LIMITATIONS_ZH]
    lines += ["", "重新生成：`linli model train`（同一数据、种子和库版本得到逐字节相同的模型文件）。", ""]
    return "\n".join(lines)
