"""Per-shard objectives, one file per model family behind one base class.

A new model family is one new subclass of :class:`LinearObjective`.
"""

from ._base import GRAM_BLOCK_ROWS, Curvature, LinearObjective, gram_block_slices
from ._logistic import BinaryLogistic
from ._softmax import MultinomialSoftmax

__all__ = [
    "GRAM_BLOCK_ROWS",
    "BinaryLogistic",
    "Curvature",
    "LinearObjective",
    "MultinomialSoftmax",
    "gram_block_slices",
]
