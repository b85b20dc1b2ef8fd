"""Execution backends: where shards live and how one round trip runs."""

from ._base import ShardBackend
from ._local import LocalBackend, even_row_bounds, split_rows

__all__ = ["LocalBackend", "ShardBackend", "even_row_bounds", "split_rows"]
