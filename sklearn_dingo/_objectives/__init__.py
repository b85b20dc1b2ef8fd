"""Per-shard objectives, one file per model family behind one base class."""

from ._base import Curvature, LinearObjective
from ._logistic import BinaryLogistic
from ._shard_data import ShardData
from ._softmax import MultinomialSoftmax

__all__ = ["BinaryLogistic", "Curvature", "LinearObjective", "MultinomialSoftmax", "ShardData"]
