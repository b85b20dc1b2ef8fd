"""Shard work: what one worker computes on its own shard in each round.

Pure functions of ``(shard, state, vectors)`` written against the array API,
so NumPy, SciPy sparse and CuPy shards run the same code (DESIGN.md, layer 3):

- :class:`ShardData` and :class:`FeatureCache`: a shard's rows, targets and
  weights, and what is derived from its X once.
- the round functions the driver sends through a backend
  (:func:`initial_round`, :func:`round_a`, :func:`round_hessian`, :func:`round_case3`,
  :func:`round_line_search`, :func:`round_line_search_more`, :func:`round_newton_search`,
  :func:`place_point`) and the state a shard keeps between them
  (:class:`ShardState`);
- :class:`Metered`, which times a round function where it runs
  (:class:`ShardTiming`: seconds and passes over the shard);
- the local sub-problem solvers and their settings (:class:`SubproblemConfig`);
- the folds of a cross-validation as weight masks on one shard
  (:func:`attach_folds`, :func:`fold_round`, held-out scores).
"""

from ._data import FeatureCache, ShardData
from ._folds import (
    HELD_OUT,
    FoldRequest,
    FoldShards,
    attach_folds,
    fold_roles,
    fold_round,
    held_out_margins,
    held_out_sums,
    split_replies,
)
from ._meter import Metered, ShardTiming
from ._rounds import (
    ShardState,
    initial_round,
    place_point,
    round_a,
    round_case3,
    round_hessian,
    round_line_search,
    round_line_search_more,
    round_newton_search,
    step_sizes,
)
from ._subproblems import EIGH_COST, HESSIAN_PRECISIONS, SUBPROBLEM_METHODS, SubproblemConfig

__all__ = [
    "EIGH_COST",
    "HELD_OUT",
    "HESSIAN_PRECISIONS",
    "Metered",
    "SUBPROBLEM_METHODS",
    "FeatureCache",
    "FoldRequest",
    "FoldShards",
    "ShardData",
    "ShardState",
    "ShardTiming",
    "SubproblemConfig",
    "attach_folds",
    "fold_roles",
    "fold_round",
    "held_out_margins",
    "held_out_sums",
    "initial_round",
    "place_point",
    "round_a",
    "round_case3",
    "round_hessian",
    "round_line_search",
    "round_line_search_more",
    "round_newton_search",
    "split_replies",
    "step_sizes",
]
