"""Choosing C by cross-validation: DingoLogisticRegressionCV against a search of separate fits.

Example::

    python -m benchmarks cv --rows 50000 --features 20 --cs 8 --folds 5 --repeats 3
    python -m benchmarks cv --classes 4 --settings in-process     # softmax, DingoSoftmaxRegressionCV
    python -m benchmarks cv --quick                               # 2,000 x 5, 2 values of C, 2 folds (CI)

Writes ``DIR/cv.md`` and ``.csv`` (default DIR: ``benchmarks/results/``).

One problem from ``sklearn.datasets.make_classification`` (binary; ``--classes
K``: K classes and the softmax estimators), standardised columns, fitted with
an intercept. The grid is ``np.logspace(-4, 4, --cs)``; the folds are one
``StratifiedKFold(--folds, shuffle=True)`` split into (train, test) index lists
that every method gets as ``cv``; the score is ``neg_log_loss``; every
method uses ``--tol`` and ``--max-iter`` (DINGO's ``tol`` is the norm of the
objective's gradient, lbfgs's the largest entry of its projected gradient,
dask-ml's its own stop: the same number, not the same accuracy).

in-process (NumPy data), each timed ``--repeats`` times after an untimed warm-up on 1,000 rows:

* ``DINGO CV``: ``DingoLogisticRegressionCV`` (or Softmax), folds as weight
  masks on shards built once, all folds' runs sharing each round;
* ``sklearn LRCV lbfgs`` / ``newton-cholesky``: scikit-learn's
  ``LogisticRegressionCV(l1_ratios=(0,), use_legacy_attributes=False)``;
* ``GridSearchCV(DINGO)``: scikit-learn's ``GridSearchCV`` around the plain
  ``DingoLogisticRegression``: a fit per fold and C, then the refit.

cluster (``--workers`` processes x 1 thread, a ``LocalCluster`` closed at the
end, also on error; X and y as Dask arrays of ``--workers`` row chunks, each
chunk re-made by a task on its worker and persisted before any timing):

* ``DINGO CV (dask)``: the CV estimator on the Dask arrays;
* ``GridSearchCV(DINGO) on Dask arrays``: ``GridSearchCV`` around the
  plain estimator on the same Dask arrays: scikit-learn indexes each fold
  out of them (new Dask collections) and every (fold, C) fit, and the refit,
  runs on the cluster with its own shards and rounds;
* ``GridSearchCV(DINGO) joblib-dask``: the same ``GridSearchCV`` inside
  ``joblib.parallel_backend("dask")``, on the NumPy arrays: scikit-learn's
  search indexes X in memory, so it cannot take Dask arrays; joblib ships X
  to the workers and each (fold, C) fit runs in-process on a worker;
* ``dask-ml GridSearchCV(lbfgs)``: ``dask_ml.model_selection.GridSearchCV``
  around ``dask_ml.linear_model.LogisticRegression(solver="lbfgs")`` on the
  Dask arrays (binary only; dask-ml penalises its intercept and standardises
  columns itself). A failure is reported in the table, not raised.

Columns: ``wall s`` the median of the repeats of ``fit`` (``time.perf_counter``);
``rounds`` DINGO's communication rounds (ALGORITHM.md counting): the CV
estimator's ``n_communication_rounds_``; for ``GridSearchCV`` the sum of the
plain estimator's ``n_communication_rounds_`` over every fold's fit and the
refit, read by an extra scorer of the timed search (``scoring`` is a dict,
``refit="neg_log_loss"``: the same choice); ``round trips`` / ``MB`` the
blocking client-cluster exchanges and the bytes between client and scheduler
plus worker-to-worker (``common/measure.ClusterMeter``), of the last repeat;
``graphs`` the ``update_graph`` calls the scheduler saw per fit (graphs
computed, batches of futures submitted). joblib's Dask backend submits and
collects its batches asynchronously on the client's event loop: they are
not blocking calls, so not ``round trips``, but each is an exchange with the
cluster (``graphs``); ``GridSearchCV``'s refit runs here, on the NumPy data.
dask-ml's search is one graph from the client (1 round trip), whose fits
submit a graph per lbfgs evaluation from the workers, counted in ``graphs``;
``C`` the chosen C; ``log-loss`` the best mean held-out log-loss over the grid;
``warn`` ``ConvergenceWarning``s raised in this process (filtered out of the
output; sklearn warns per unconverged solve, DINGO CV once per search), for the
joblib-dask search the fits with ``converged_`` False (on the workers) plus the
refit's; dask-ml's fits would warn on the workers: not counted. ``x CV``
columns divide by the DINGO CV row of the same table.

Goals (PASS/FAIL): in-process DINGO CV no slower than ``LogisticRegressionCV``
(its default lbfgs; newton-cholesky too); on the cluster DINGO CV makes at most
1/4 of the round trips of ``GridSearchCV`` on the Dask arrays and takes less
wall time. The joblib-dask search is shown beside them: its fits are
in-process fits on one worker each, which needs the whole data on every
worker (the case this package is not for), and its exchanges with the
cluster are asynchronous batches.
"""

import math
import operator
import statistics
import time
import warnings

import numpy as np

from ..common.cli import suite_parser
from ..common.report import Report, bound_goal, command_line, environment_text, log, markdown_table, write
from ..common.runner import local_cluster

NAME = "cv"
GOALS = {"wall_vs_lrcv": 1.0, "trips_vs_grid": 0.25, "wall_vs_grid": 1.0}


# -- the problem -------------------------------------------------------------------------
def make_problem(args):
    from sklearn.datasets import make_classification
    from sklearn.model_selection import StratifiedKFold

    X, y = make_classification(
        n_samples=args.rows, n_features=args.features, n_informative=max(2, args.features // 2),
        n_redundant=0, n_classes=args.classes, n_clusters_per_class=1, flip_y=0.05, class_sep=0.8,
        random_state=args.seed,
    )
    X = np.ascontiguousarray((X - X.mean(axis=0)) / X.std(axis=0))
    y = y.astype(np.int64)
    folds = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
    splits = [(train, test) for train, test in folds.split(X, y)]
    return X, y, splits


# -- the methods ---------------------------------------------------------------------------
def _rounds(estimator, X, y):
    """Scorer reading a fitted plain DINGO estimator's rounds (summed over the search)."""
    return float(estimator.n_communication_rounds_)


def _unconverged(estimator, X, y):
    return float(not estimator.converged_)


def dingo_cv(args, Cs, cv, **extra):
    from sklearn_dingo import DingoLogisticRegressionCV, DingoSoftmaxRegressionCV

    cls = DingoLogisticRegressionCV if args.classes == 2 else DingoSoftmaxRegressionCV
    return cls(
        Cs=Cs, cv=cv, scoring="neg_log_loss", tol=args.tol, max_iter=args.max_iter, n_shards=args.shards, **extra
    )


def sklearn_cv(args, Cs, cv, solver):
    from sklearn.linear_model import LogisticRegressionCV

    return LogisticRegressionCV(
        Cs=Cs, cv=cv, scoring="neg_log_loss", use_legacy_attributes=False, l1_ratios=(0,),
        tol=args.tol, max_iter=args.max_iter, solver=solver,
    )


def grid_dingo(args, Cs, cv, n_jobs=None):
    from sklearn.model_selection import GridSearchCV

    from sklearn_dingo import DingoLogisticRegression, DingoSoftmaxRegression

    cls = DingoLogisticRegression if args.classes == 2 else DingoSoftmaxRegression
    plain = cls(tol=args.tol, max_iter=args.max_iter, n_shards=args.shards)
    scoring = {"neg_log_loss": "neg_log_loss", "rounds": _rounds, "unconverged": _unconverged}
    return GridSearchCV(plain, {"C": list(Cs)}, cv=cv, scoring=scoring, refit="neg_log_loss", n_jobs=n_jobs)


def daskml_grid(args, Cs, cv):
    from dask_ml.linear_model import LogisticRegression
    from dask_ml.model_selection import GridSearchCV

    model = LogisticRegression(solver="lbfgs", tol=args.tol, max_iter=args.max_iter, fit_intercept=True)
    return GridSearchCV(model, {"C": list(Cs)}, cv=cv, scoring="neg_log_loss")


def summary(model, n_folds):
    """Chosen C, best mean held-out log-loss, DINGO rounds (None: not DINGO), unconverged fits."""
    if hasattr(model, "best_params_"):  # a grid search
        res = model.cv_results_
        rounds = unconverged = None
        if "mean_test_rounds" in res:
            rounds = n_folds * float(np.sum(res["mean_test_rounds"])) + model.best_estimator_.n_communication_rounds_
            unconverged = n_folds * float(np.sum(res["mean_test_unconverged"])) + (not model.best_estimator_.converged_)
        return float(model.best_params_["C"]), -float(model.best_score_), rounds, unconverged
    scores = np.asarray(model.scores_)
    mean = scores.reshape(scores.shape[0], -1).mean(axis=0)  # sklearn: (folds, l1_ratios=1, Cs)
    rounds = getattr(model, "n_communication_rounds_", None)
    return float(np.ravel(model.C_)[0]), -float(mean.max()), rounds, None


def run(fit, repeats, meter=None):
    """Median wall of ``repeats`` fits, the last model, its ConvergenceWarnings and cluster cost."""
    from sklearn.exceptions import ConvergenceWarning

    walls = []
    for _ in range(repeats):
        before = meter.snapshot() if meter else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", ConvergenceWarning)
            start = time.perf_counter()
            model = fit()
            walls.append(time.perf_counter() - start)
        cost = meter.delta(before, meter.snapshot()) if meter else None
    n_warn = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return {"wall": statistics.median(walls), "model": model, "warnings": n_warn, "cost": cost}


def quietly(fit):
    """An untimed warm-up (imports, threads, worker connections); its failures are left to the timed run."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit()
    except Exception:  # noqa: BLE001, S110
        pass


# -- in-process ------------------------------------------------------------------------------
def in_process(args, X, y, splits, Cs):
    small = slice(0, min(1000, len(y)))
    methods = [
        ("DINGO CV", lambda cv: dingo_cv(args, Cs, cv)),
        ("sklearn LRCV lbfgs", lambda cv: sklearn_cv(args, Cs, cv, "lbfgs")),
        ("sklearn LRCV newton-cholesky", lambda cv: sklearn_cv(args, Cs, cv, "newton-cholesky")),
        ("GridSearchCV(DINGO)", lambda cv: grid_dingo(args, Cs, cv)),
    ]
    rows = {}
    for name, make in methods:
        quietly(lambda make=make: make(2).fit(X[small], y[small]))
        out = run(lambda make=make: make(splits).fit(X, y), args.repeats)
        out["C"], out["logloss"], out["rounds"], _ = summary(out["model"], len(splits))
        rows[name] = out
        log(f"  in-process {name:30s} {out['wall']:8.3f} s")
    return rows


# -- cluster ---------------------------------------------------------------------------------------
def _quiet_worker():
    warnings.simplefilter("ignore")


def graph_counter():
    """A scheduler plugin counting ``update_graph`` calls: graphs (or batches of futures) submitted."""
    from distributed.diagnostics.plugin import SchedulerPlugin

    class GraphCounter(SchedulerPlugin):
        graphs = 0

        def update_graph(self, scheduler, **kwargs):
            self.graphs += 1

    return GraphCounter()


def on_cluster(args, X, y, splits, Cs):
    import dask.array as da
    import joblib
    from distributed import wait

    rows = {}
    with local_cluster(args.workers) as (client, meter):
        client.run(_quiet_worker)  # the joblib fits' warnings would print from the workers
        client.register_plugin(graph_counter(), name="cv-graphs")
        counter = client.cluster.scheduler.plugins["cv-graphs"]  # the scheduler of a LocalCluster runs here
        chunk = math.ceil(len(y) / args.workers)
        copy = operator.methodcaller("copy")  # chunks re-made on their worker: aligned, as loaded there
        Xd = da.from_array(X, chunks=(chunk, X.shape[1])).map_blocks(copy, dtype=X.dtype)
        yd = da.from_array(y, chunks=chunk).map_blocks(copy, dtype=y.dtype)
        Xd, yd, yfd = client.persist([Xd, yd, yd.astype(np.float64)])
        wait([Xd, yd, yfd])

        def joblib_grid(cv, Cs):
            with joblib.parallel_backend("dask"):
                return grid_dingo(args, Cs, cv, n_jobs=-1).fit(X, y)

        methods = [
            ("DINGO CV (dask)", lambda cv, Cs: dingo_cv(args, Cs, cv).fit(Xd, yd)),
            ("GridSearchCV(DINGO) on Dask arrays", lambda cv, Cs: grid_dingo(args, Cs, cv).fit(Xd, yd)),
            ("GridSearchCV(DINGO) joblib-dask", joblib_grid),
        ]
        if args.classes == 2 and not args.without_dask_ml:
            methods.append(("dask-ml GridSearchCV(lbfgs)", lambda cv, Cs: daskml_grid(args, Cs, cv).fit(Xd, yfd)))
        for name, fit in methods:
            quietly(lambda fit=fit: fit(splits[:2], Cs[:1]))  # two folds, one C
            try:
                graphs = counter.graphs
                out = run(lambda fit=fit: fit(splits, Cs), args.repeats, meter)
                out["graphs"] = (counter.graphs - graphs) / args.repeats
            except Exception as exc:  # noqa: BLE001 - reported in the table
                text = str(exc).splitlines()[0][:150] if str(exc) else ""
                rows[name] = {"error": f"{type(exc).__name__}: {text}"}
                log(f"  cluster    {name:30s} failed: {rows[name]['error']}")
                continue
            out["C"], out["logloss"], out["rounds"], unconverged = summary(out["model"], len(splits))
            if unconverged is not None and "joblib" in name:
                out["warnings"] = f"{unconverged:.0f}*"
            rows[name] = out
            log(f"  cluster    {name:30s} {out['wall']:8.3f} s")
    if args.classes != 2:
        rows["dask-ml GridSearchCV(lbfgs)"] = {"error": "n/a: dask-ml's LogisticRegression is binary only"}
    elif args.without_dask_ml:
        rows["dask-ml GridSearchCV(lbfgs)"] = {"error": "not run (--without-dask-ml)"}
    return rows


# -- the report ---------------------------------------------------------------------------------------
def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(rows, base, cluster):
    head = ["method", "wall s", "x CV wall", "rounds", "x CV rounds"]
    if cluster:
        head += ["round trips", "x CV trips", "graphs", "MB"]
    head += ["C", "log-loss", "warn"]
    cells = []
    b = rows.get(base, {})
    for name, r in rows.items():
        if "error" in r:
            cells.append([name, *["-"] * (len(head) - 2), r["error"]])
            continue
        row = [name, f"{r['wall']:.3f}", ratio(r["wall"], b.get("wall")), fmt(r["rounds"], ".0f"),
               ratio(r["rounds"], b.get("rounds"))]
        if cluster:
            c, bc = r["cost"], b.get("cost")
            mb = (c["bytes_sent"] + c["bytes_received"] + c["worker_bytes"]) / 1e6
            row += [str(c["round_trips"]), ratio(c["round_trips"], bc and bc["round_trips"]),
                    f"{r['graphs']:.0f}", f"{mb:.2f}"]
        row += [f"{r['C']:.4g}", f"{r['logloss']:.5f}", str(r["warnings"])]
        cells.append(row)
    return markdown_table(head, cells)


def csv_rows(setting, rows):
    """One CSV row per method of a setting."""
    out = []
    for name, r in rows.items():
        row = dict(setting=setting, method=name, error=r.get("error"))
        if "error" not in r:
            row.update(wall=r["wall"], rounds=r["rounds"], C=r["C"], logloss=r["logloss"], warnings=r["warnings"],
                       graphs=r.get("graphs"), **(r["cost"] or {}))
        out.append(row)
    return out


CSV_COLUMNS = ["setting", "method", "error", "wall", "rounds", "round_trips", "computes", "bytes_sent",
               "bytes_received", "worker_bytes", "graphs", "C", "logloss", "warnings"]


def fill_report(report, args, local, cluster, Cs):
    """The report's tables, rows and goals from every method's results."""
    kind = "binary" if args.classes == 2 else f"softmax, {args.classes} classes"
    report.intro.append(
        f"n={args.rows:,} d={args.features} ({kind}), {len(Cs)} values of C in [{Cs[0]:g}, {Cs[-1]:g}], "
        f"{args.folds} stratified folds, tol={args.tol:g}, max_iter={args.max_iter}; medians of {args.repeats} fits."
    )
    if local:
        cv, grid = local["DINGO CV"], local["GridSearchCV(DINGO)"]
        report.sections.append(("## In-process (NumPy data)", table(local, "DINGO CV", cluster=False) + (
            f"\n\nGridSearchCV of the plain estimator / DINGO CV: {grid['rounds'] / cv['rounds']:.2f}x the rounds, "
            f"{grid['wall'] / cv['wall']:.2f}x the wall time."
        )))
        for solver in ("lbfgs", "newton-cholesky"):
            report.goals.append(bound_goal(
                f"in-process no slower than LogisticRegressionCV ({solver}): DINGO CV wall / its wall",
                cv["wall"] / local[f"sklearn LRCV {solver}"]["wall"], GOALS["wall_vs_lrcv"],
            ))
        report.rows += csv_rows("in-process", local)
    if cluster:
        report.sections.append((f"## On a {args.workers}-worker Dask LocalCluster (1 thread each)", "\n".join([
            table(cluster, "DINGO CV (dask)", cluster=True), "",
            "\\* joblib-dask: fits on the workers whose `converged_` is False (their warnings stay there). "
            "GridSearchCV takes the NumPy arrays (it indexes X in memory); joblib ships them to the workers, "
            "submits and collects its batches asynchronously (graphs, not blocking round trips); its refit runs "
            "here. dask-ml's graphs include those its fits submit from the workers (one per lbfgs evaluation).",
        ])))
        cv, grid = cluster.get("DINGO CV (dask)", {}), cluster.get("GridSearchCV(DINGO) on Dask arrays", {})
        ok = "error" not in cv and "error" not in grid
        report.goals.append(bound_goal(
            "CV round trips <= 1/4 of GridSearchCV's on the Dask arrays: ratio",
            cv["cost"]["round_trips"] / grid["cost"]["round_trips"] if ok else None, GOALS["trips_vs_grid"],
        ))
        report.goals.append(bound_goal("CV wall < GridSearchCV's on the Dask arrays: ratio",
                                       cv["wall"] / grid["wall"] if ok else None, GOALS["wall_vs_grid"]))
        report.rows += csv_rows("cluster", cluster)
    return report


QUICK = dict(rows=2_000, features=5, cs=2, folds=2, repeats=1)
DEFAULTS = dict(rows=50_000, features=20, cs=8, folds=5, repeats=3)


def parse_args(argv):
    parser = suite_parser(NAME, __doc__, "2,000 x 5 rows, 2 values of C, 2 folds, one search each (CI)")
    parser.add_argument("--rows", type=int, default=None, help="default 50,000")
    parser.add_argument("--features", type=int, default=None, help="default 20")
    parser.add_argument("--classes", type=int, default=2, help="2: logistic; more: softmax")
    parser.add_argument("--cs", type=int, default=None, help="values of C: np.logspace(-4, 4, cs) (default 8)")
    parser.add_argument("--folds", type=int, default=None, help="default 5")
    parser.add_argument("--tol", type=float, default=1e-4, help="every method's tol")
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--shards", type=int, default=None, help="DINGO's n_shards (default: its own)")
    parser.add_argument("--repeats", type=int, default=None, help="default 3")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--settings", default="in-process,cluster")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--without-dask-ml", action="store_true", help="skip dask-ml's (slow) search")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.settings = {s.strip() for s in args.settings.split(",") if s.strip()}
    if not args.settings <= {"in-process", "cluster"} or not args.settings:
        parser.error("--settings: in-process, cluster or both")
    if args.classes < 2 or args.folds < 2 or args.cs < 1:
        parser.error("need --classes >= 2, --folds >= 2, --cs >= 1")
    return args


def command_text(args):
    defaults = QUICK if args.quick else DEFAULTS
    settings = [s for s in ("in-process", "cluster") if s in args.settings]
    return command_line(NAME, args.quick, [
        *((f"--{key}", getattr(args, key), value) for key, value in defaults.items()),
        ("--classes", args.classes, 2), ("--tol", args.tol, 1e-4), ("--max-iter", args.max_iter, 100),
        ("--shards", args.shards, None), ("--workers", args.workers, 2),
        ("--settings", settings, ["in-process", "cluster"]), ("--seed", args.seed, 0),
        ("--without-dask-ml", args.without_dask_ml, False),
    ])


def main(argv=None):
    args = parse_args(argv)
    report = Report(NAME, "Choosing C by cross-validation", command_text(args), environment=environment_text(),
                    columns=CSV_COLUMNS)
    X, y, splits = make_problem(args)
    Cs = np.logspace(-4, 4, args.cs)
    local = in_process(args, X, y, splits, Cs) if "in-process" in args.settings else None
    cluster = on_cluster(args, X, y, splits, Cs) if "cluster" in args.settings else None
    fill_report(report, args, local, cluster, Cs)
    write(report, args.out)
    return 0
