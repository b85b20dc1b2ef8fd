"""The DINGO solver on flat parameter vectors (ALGORITHM.md §2-§7).

It knows neither scikit-learn nor where the shards live: it talks to them
only through a :class:`~sklearn_dingo._backends.ShardBackend`.

- :func:`dingo` runs one minimisation (:class:`DingoConfig` in,
  :class:`DingoResult` out, :class:`StopReason` naming why it ended);
- :func:`fold_paths` and :func:`refit` run the regularisation paths of a
  cross-validation, warm-started from the strongest penalty;
- :func:`should_rebalance` is the one rule that decides whether the rows of
  the shards move (the start of a fit or a search, and mid-fit).
"""

from ._dingo import HISTORY_COLUMNS, DingoConfig, DingoResult, StopReason, dingo
from ._paths import SEARCH_HISTORY_COLUMNS, fold_paths, not_converged, refit, search_history
from ._rebalance import should_rebalance

__all__ = [
    "HISTORY_COLUMNS",
    "SEARCH_HISTORY_COLUMNS",
    "DingoConfig",
    "DingoResult",
    "StopReason",
    "dingo",
    "fold_paths",
    "not_converged",
    "refit",
    "search_history",
    "should_rebalance",
]
