"""sklearn-dingo: logistic and softmax regression by DINGO, in-process or on Dask.

DINGO (Crane and Roosta, NeurIPS 2019) is a distributed Newton-type method
that spends local second-order work on each data shard to need few
communication rounds. The estimators here are drop-in replacements for
scikit-learn's ``LogisticRegression`` with the same objective and ``C``, and
their cross-validated variants for ``LogisticRegressionCV``.
"""

from ._estimators import (
    DingoLogisticRegression,
    DingoLogisticRegressionCV,
    DingoSoftmaxRegression,
    DingoSoftmaxRegressionCV,
)

__version__ = "0.1.0"

__all__ = [
    "DingoLogisticRegression",
    "DingoLogisticRegressionCV",
    "DingoSoftmaxRegression",
    "DingoSoftmaxRegressionCV",
    "__version__",
]
