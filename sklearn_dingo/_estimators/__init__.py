"""The scikit-learn faces of the package.

- ``_logistic``: :class:`DingoLogisticRegression` and
  :class:`DingoSoftmaxRegression`, thin subclasses naming their objective;
- ``_classifier``: what they share (parameters, validation, fit, predict);
- ``_logistic_cv`` and ``_cv``: the cross-validated variants and their search;
- ``_reporting``: verbose lines, callbacks and warnings of a fit.
"""

from ._logistic import DingoLogisticRegression, DingoSoftmaxRegression
from ._logistic_cv import DingoLogisticRegressionCV, DingoSoftmaxRegressionCV

__all__ = [
    "DingoLogisticRegression",
    "DingoLogisticRegressionCV",
    "DingoSoftmaxRegression",
    "DingoSoftmaxRegressionCV",
]
