"""Every use of another library's private API, in one module.

scikit-learn and Dask change their underscore names without deprecation. The
package touches them only here: each use is a small named function (or, for
classes, a re-export) whose docstring says what private API it touches and
why no public one serves, and each has a test in ``tests/test_compat.py``
that fails, naming the API, if a release changes it. A new scikit-learn or
Dask release should break one named test, never a user's fit.

Where a public alternative exists the package uses it instead (Dask
collections' metadata: ``dask.array.utils.meta_from_array`` and
``dask.dataframe.utils.make_meta``, not ``._meta``).

Dask and distributed are never imported here: the package must not import
Dask when it is used in-process. Their private structures are reached inside
functions, through the objects (the scheduler) that Dask hands them.
"""

from typing import Any, NamedTuple

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._array_api import check_same_namespace as _check_same_namespace
from sklearn.utils._array_api import move_to as _move_to
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import _check_sample_weight, _get_feature_names

__all__ = [
    "FIT_CONTEXT_FILENAME",
    "Interval",
    "InvalidParameterError",
    "ScorerParts",
    "StrOptions",
    "check_same_namespace",
    "check_sample_weight",
    "event_topics",
    "feature_names_of",
    "fit_context",
    "forget_event_topic",
    "has_callbacks",
    "init_callback_context",
    "move_to_numpy",
    "scorer_parts",
]

# -- scikit-learn: parameter validation ---------------------------------------------------
# ``Interval`` and ``StrOptions`` (``sklearn.utils._param_validation``) are the
# constraints of the estimators' ``_parameter_constraints``, which
# :func:`fit_context` checks; ``InvalidParameterError`` is what a violated
# constraint raises (a ``ValueError`` and a ``TypeError``). scikit-learn
# offers no public home for them: third-party estimators that validate as
# scikit-learn's own do import them from there.


def fit_context(*, prefer_skip_nested_validation):
    """scikit-learn's ``sklearn.base._fit_context`` decorator for ``fit``.

    Validates the estimator's parameters against its ``_parameter_constraints``
    (raising :class:`InvalidParameterError`), runs ``fit`` under
    ``skip_parameter_validation`` for nested calls, and opens and closes the
    callbacks of :class:`sklearn.callback.CallbackSupportMixin` around it.
    No public decorator or function does these (``BaseEstimator._validate_params``
    is private as well); scikit-learn's own estimators all use this one.
    """
    return _fit_context(prefer_skip_nested_validation=prefer_skip_nested_validation)


#: The file whose frames :func:`fit_context`'s wrapper adds between a user's
#: ``fit`` call and the estimator's ``fit`` (warnings are attributed past them).
FIT_CONTEXT_FILENAME = _fit_context.__code__.co_filename


# -- scikit-learn: input validation -------------------------------------------------------
def check_sample_weight(sample_weight, X):
    """Float64 sample weights of X's length: finite, non-negative, not all zero.

    scikit-learn's ``sklearn.utils.validation._check_sample_weight`` with
    ``ensure_non_negative=True``: its checks and messages, which
    ``LogisticRegression`` gives. No public function checks sample weights.
    """
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


def feature_names_of(X):
    """String column names of X (e.g. a pandas DataFrame) as an array, or None.

    scikit-learn's ``sklearn.utils.validation._get_feature_names``: its rule
    for ``feature_names_in_``, including its error for column names that mix
    strings and other types. ``validate_data`` applies the rule only while it
    also validates X, which Dask inputs and the training data's own checks
    cannot go through.
    """
    return _get_feature_names(X)


# -- scikit-learn: array API ---------------------------------------------------------------
def move_to_numpy(x):
    """``x`` (an array of any array API namespace and device) as a host NumPy array.

    scikit-learn's ``sklearn.utils._array_api.move_to`` with ``xp=numpy`` and
    ``device="cpu"``: it knows each namespace's way to the host (DLPack, or
    a library's own transfer). The array API standard has no public
    "to NumPy", and array-api-compat's ``to_device`` cannot leave a namespace.
    """
    return _move_to(x, xp=np, device="cpu")


def check_same_namespace(X, estimator, *, attribute, method):
    """Raise scikit-learn's ``ValueError`` if X is not in the namespace and device of the fit.

    scikit-learn's ``sklearn.utils._array_api.check_same_namespace``: a no-op
    unless ``array_api_dispatch`` is on, then the message scikit-learn's own
    estimators give (naming ``estimator.method``). No public check exists.
    """
    return _check_same_namespace(X, estimator, attribute=attribute, method=method)


# -- scikit-learn: scorers ------------------------------------------------------------------
class ScorerParts(NamedTuple):
    """What ``sklearn.metrics.make_scorer`` made a scorer of (its arguments)."""

    score_func: Any
    greater_is_better: bool
    response_method: Any
    kwargs: dict


def scorer_parts(scorer):
    """The ``make_scorer`` arguments of a scikit-learn scorer, or None for any other callable.

    Reads the private ``_score_func``, ``_sign``, ``_response_method`` and
    ``_kwargs`` of scikit-learn's ``_BaseScorer``. A scorer must be rebuilt
    with ``labels=classes`` when the held-out rows of a fold may miss a
    class; scorers expose no public way to pass extra arguments to their
    metric (only metadata routing, which needs the global config), and
    scikit-learn's ``LogisticRegressionCV`` rebuilds them the same way.
    """
    if not hasattr(scorer, "_score_func"):
        return None
    return ScorerParts(
        scorer._score_func,
        scorer._sign == 1,
        scorer._response_method,
        dict(getattr(scorer, "_kwargs", None) or {}),
    )


# -- scikit-learn: callbacks -----------------------------------------------------------------
def has_callbacks(estimator):
    """Whether callbacks are set on ``estimator`` (by ``set_callbacks`` or a meta-estimator).

    Reads ``CallbackSupportMixin``'s private ``_skl_callbacks``, where
    ``set_callbacks`` and the propagation from a meta-estimator put them.
    There is no public query; a fit without callbacks then skips building a
    sub-task (and the fitted attributes of every iteration) per iteration.
    """
    return bool(getattr(estimator, "_skl_callbacks", None))


def init_callback_context(estimator, *, max_subtasks):
    """The root callback context of a fit (``CallbackSupportMixin._init_callback_context``).

    scikit-learn documents this underscore method as the one a fit calls
    first to open its callbacks (its estimators call it so); it has no public
    name. :func:`fit_context` closes what it opens.
    """
    return estimator._init_callback_context(max_subtasks=max_subtasks)


# -- distributed: the scheduler's event topics ----------------------------------------------
def event_topics(dask_scheduler):
    """The scheduler's event topics: a mapping of topic name to topic, or None.

    Scheduler side. Reads ``Scheduler._broker._topics`` (distributed's
    ``Broker``, the store behind ``Worker.log_event`` and ``Client.get_events``).
    None if this distributed has no such store (then nothing can be dropped).
    """
    return getattr(getattr(dask_scheduler, "_broker", None), "_topics", None)


def forget_event_topic(topic, keep_subscribers=False, dask_scheduler=None):
    """Scheduler side (``Client.run_on_scheduler``): drop the events the scheduler kept of ``topic``.

    The scheduler keeps the last events of every topic (up to Dask's
    ``distributed.admin.low-level-log-length``) for ``Client.get_events``;
    a reply channel's reports are of no use once received. While the channel
    listens (``keep_subscribers``) the topic stays, emptied (the private
    ``Scheduler._broker.truncate``); at its close the topic goes (removed
    from ``Scheduler._broker._topics``). distributed has no public way to
    drop a topic's events: a client can only read them. With a distributed
    that keeps events elsewhere this does nothing (the fit goes on; the
    events stay).
    """
    topics = event_topics(dask_scheduler)
    if topics is None:  # pragma: no cover - a distributed without the broker: nothing to drop
        return
    if keep_subscribers:
        dask_scheduler._broker.truncate(topic)
    else:
        topics.pop(topic, None)
