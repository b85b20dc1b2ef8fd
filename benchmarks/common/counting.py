"""Passes over the data: rows of X read by a fit, for this package and for scikit-learn.

* **sklearn_dingo** counts through its documented hook,
  ``sklearn_dingo._objectives.pass_counter`` (every product of its objectives
  with X reports the rows it reads; see ``sklearn_dingo/_objectives/_passes.py``
  for what one read is). On Dask workers the hook's
  ``start_worker_counter`` / ``take_worker_rows`` run through ``client.run``
  (:func:`count_on_workers`, :meth:`.measure.ClusterMeter.passes`).
* **scikit-learn** has no such hook and no public way to count its products
  with X, so its private products are wrapped, here and nowhere else, for the
  time of one :func:`count_passes` block (restored on exit):
  ``LinearModelLoss.weight_intercept_raw`` (X @ coef), the gradient products
  Xᵀ r of ``loss_gradient`` / ``gradient`` / ``gradient_hessian``,
  ``sandwich_dot`` (a Gram product Xᵀ diag(h) X: one read) and each product
  of ``gradient_hessian_product``'s Hessian closure (two reads; Xᵀ g of the
  gradient itself one). A wrapped name that is missing raises at once, and
  :meth:`PassCount.require_sklearn` raises after a scikit-learn fit that read
  X through none of them: a scikit-learn release that renames its internals
  breaks the count loudly instead of under-counting it.

A pass is ``rows read / n``: for a sharded fit, a read of every shard once.
"""

import contextlib
import functools
import threading

import sklearn

# The private methods of sklearn.linear_model._linear_loss.LinearModelLoss
# whose products with X are counted, with the reads of X each makes itself
# (their X @ coef is counted in weight_intercept_raw, which they call).
_LOSS_METHODS = {"weight_intercept_raw": 1, "loss_gradient": 1, "gradient": 1, "gradient_hessian": 1}


class SklearnProducts:
    """Wraps scikit-learn's products with X while active (a context manager).

    Attributes
    ----------
    rows : int
        Rows of X read by the wrapped products.
    calls : dict
        Calls of each wrapped name.
    """

    def __init__(self):
        self.rows = 0
        self.calls = {}
        self._lock = threading.Lock()
        self._restore = []

    def _add(self, name, rows):
        with self._lock:
            self.rows += int(rows)
            self.calls[name] = self.calls.get(name, 0) + 1

    def _wrap(self, owner, name, x_of, reads=1):
        original = getattr(owner, name, None)
        if original is None:
            raise RuntimeError(
                f"scikit-learn {sklearn.__version__} has no {owner.__name__}.{name}: the passes over X of its "
                "solvers can no longer be counted; update benchmarks/common/counting.py."
            )

        @functools.wraps(original)
        def counted(*args, **kwargs):
            X = x_of(args, kwargs)
            if X is not None and len(getattr(X, "shape", ())) == 2:
                self._add(name, reads * X.shape[0])
            return original(*args, **kwargs)

        self._restore.append((owner, name, original))
        setattr(owner, name, counted)

    def _wrap_hessian_product(self, Loss):
        original = getattr(Loss, "gradient_hessian_product", None)
        if original is None:
            raise RuntimeError(
                f"scikit-learn {sklearn.__version__} has no LinearModelLoss.gradient_hessian_product; "
                "update benchmarks/common/counting.py."
            )
        counter = self

        @functools.wraps(original)
        def gradient_hessian_product(self, coef, X, *args, **kwargs):
            grad, hessp = original(self, coef, X, *args, **kwargs)
            counter._add("gradient_hessian_product", X.shape[0])  # Xᵀ of the gradient

            def counted_hessp(s):
                counter._add("hessp", 2 * X.shape[0])
                return hessp(s)

            return grad, counted_hessp

        self._restore.append((Loss, "gradient_hessian_product", original))
        Loss.gradient_hessian_product = gradient_hessian_product

    def __enter__(self):
        from sklearn.linear_model import _linear_loss

        Loss = _linear_loss.LinearModelLoss
        try:
            def x_arg(args, kwargs):  # (self, coef, X)
                return kwargs.get("X", args[2] if len(args) > 2 else None)

            for name, reads in _LOSS_METHODS.items():
                self._wrap(Loss, name, x_arg, reads)
            self._wrap(_linear_loss, "sandwich_dot", lambda args, kwargs: args[0])
            self._wrap_hessian_product(Loss)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info):
        while self._restore:
            owner, name, original = self._restore.pop()
            setattr(owner, name, original)


class PassCount:
    """Rows of X read in this process during a :func:`count_passes` block."""

    def __init__(self, dingo, sklearn_products):
        self._dingo = dingo
        self._sklearn = sklearn_products

    @property
    def rows(self):
        return self._dingo.rows + self._sklearn.rows

    def require_sklearn(self, solver):
        """Raise if a scikit-learn fit read X through none of the wrapped products."""
        if not self._sklearn.calls:
            raise RuntimeError(
                f"the scikit-learn fit ({solver}) called none of the products wrapped to count its passes "
                f"over X ({', '.join(_LOSS_METHODS)}, sandwich_dot, gradient_hessian_product): scikit-learn "
                f"{sklearn.__version__} changed its internals; update benchmarks/common/counting.py."
            )


@contextlib.contextmanager
def count_passes():
    """Count the rows of X this process reads inside the block: yields a :class:`PassCount`."""
    from sklearn_dingo._objectives import pass_counter

    with pass_counter() as dingo, SklearnProducts() as products:
        yield PassCount(dingo, products)


def count_on_workers(client):
    """Start the package's pass counter on every worker of ``client`` (read by ``ClusterMeter.passes``)."""
    from sklearn_dingo._objectives._passes import start_worker_counter

    client.run(start_worker_counter)
