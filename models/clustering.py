"""Settings of the clustering model: `rules/clustering.yaml`, read by `linli model train`.

Structure only. `engine.clustering.load_settings` checks feature names against the feature
schema and reports each problem with file, line and column.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from models.catalogue import ItemKind


class ClusteringSettings(BaseModel):
    """Training settings of the segmentation model. Planning never reads this file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k_min: int = Field(ge=2, le=64, description="最少聚类数")
    k_max: int = Field(ge=2, le=64, description="最多聚类数")
    seed: int = Field(default=2026, ge=0, le=2**31 - 1, description="随机种子（训练人口与 KMeans）")
    n_init: int = Field(default=4, ge=1, le=50, description="每个 k 的 KMeans 重启次数")
    silhouette_sample: int = Field(default=2000, ge=100, le=100_000, description="计算轮廓系数的抽样户数")
    population: int = Field(default=5000, ge=1, le=1_000_000, description="不指定 --data 时生成的训练户数")
    min_households: int = Field(default=50, ge=2, description="训练数据至少需要的户数")
    min_peer_households: int = Field(default=20, ge=1, description="聚类至少有这么多户才给出相似家庭参与率")
    numeric_features: list[str] = Field(min_length=1, description="按数值使用的家庭特征（整数或是/否）")
    categorical_features: list[str] = Field(default_factory=list, description="独热编码的家庭特征（文字）")
    peer_kinds: list[ItemKind] = Field(default_factory=lambda: [ItemKind.interest_group, ItemKind.volunteer_task],
                                       description="计算相似家庭参与率的项目类别")

    @model_validator(mode="after")
    def _ordered_range(self) -> ClusteringSettings:
        if self.k_max < self.k_min:
            raise PydanticCustomError("k_range", "k_max ({k_max}) must not be less than k_min ({k_min})",
                                      {"k_min": self.k_min, "k_max": self.k_max})
        return self
