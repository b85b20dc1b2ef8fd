"""Per-shard objectives, one file per model family behind one base class.

A new model family is one new subclass of :class:`LinearObjective`.
:func:`pass_counter` is the hook that counts the rows of X the products read
(benchmarks count passes over the data with it; ``_passes.py``).
"""

from ._base import GRAM_BLOCK_ROWS, Curvature, LinearObjective, gram_block_slices
from ._logistic import BinaryLogistic
from ._passes import PassCounter, ShardMeter, pass_counter
from ._softmax import MultinomialSoftmax
from ._sparse import row_block_view, sparse_product, sparse_product_threads

__all__ = [
    "GRAM_BLOCK_ROWS",
    "BinaryLogistic",
    "Curvature",
    "LinearObjective",
    "MultinomialSoftmax",
    "PassCounter",
    "ShardMeter",
    "gram_block_slices",
    "pass_counter",
    "row_block_view",
    "sparse_product",
    "sparse_product_threads",
]
