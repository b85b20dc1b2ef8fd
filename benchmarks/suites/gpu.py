"""GPU (CuPy) against CPU (NumPy) time per DINGO iteration on the softmax problem.

Fits ``DingoSoftmaxRegression`` in-process on problem 4 of ``compare``
(60,000 x 784, 10 classes, C=10, no intercept; ``--quick``: its CI size)
once with NumPy arrays and once with CuPy arrays under
``sklearn.config_context(array_api_dispatch=True)``, and reports seconds per
iteration, iterations and rounds of each, their ratio, and the largest
coefficient difference between the two fits. Needs CuPy and a CUDA device;
without them it says so and exits with status 0. Writes ``DIR/gpu.md``.

Run: ``SCIPY_ARRAY_API=1 python -m benchmarks gpu [--quick] [--repeats N]``
(the variable is set here if SciPy is not imported yet).
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # scikit-learn's array API dispatch needs it

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from ..common.cli import suite_parser  # noqa: E402
from ..common.problems import make_problem  # noqa: E402
from ..common.report import Report, bound_goal, command_line, environment_text, markdown_table, write  # noqa: E402

NAME = "gpu"


def _cupy():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "no CUDA device is visible"
        return cupy, None
    except ImportError:
        return None, "CuPy is not installed (pip install 'sklearn-dingo[gpu]')"
    except Exception as exc:  # noqa: BLE001 - CUDA driver or runtime unusable
        return None, f"CUDA is unusable: {exc}"


def _time_per_iteration(X, y, C, repeats, synchronize):
    from sklearn_dingo import DingoSoftmaxRegression

    times, model = [], None
    for _ in range(repeats):
        model = DingoSoftmaxRegression(C=C, fit_intercept=False, tol=1e-8, n_shards=1)
        t0 = time.perf_counter()
        model.fit(X, y)
        synchronize()
        times.append((time.perf_counter() - t0) / max(int(model.n_iter_[0]), 1))
    return statistics.median(times), model


def main(argv=None):
    import sklearn

    parser = suite_parser(NAME, __doc__, "the small CI size of the problem")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    cupy, why = _cupy()
    if cupy is None:
        print(f"GPU comparison skipped: {why}.")
        return 0
    problem = make_problem(4, "quick" if args.quick else "default")
    cpu, cpu_model = _time_per_iteration(problem.X, problem.y, problem.C, args.repeats, lambda: None)
    X_gpu, y_gpu = cupy.asarray(problem.X), cupy.asarray(problem.y)
    with sklearn.config_context(array_api_dispatch=True):
        gpu, gpu_model = _time_per_iteration(X_gpu, y_gpu, problem.C, args.repeats, cupy.cuda.Device().synchronize)
    gap = float(np.max(np.abs(cupy.asnumpy(cupy.asarray(gpu_model.coef_)) - cpu_model.coef_)))
    report = Report(NAME, "GPU (CuPy) against CPU (NumPy)", command_line(NAME, args.quick, [
        ("--repeats", args.repeats, 3)]), environment=environment_text())
    report.intro.append(f"Problem 4 ({problem.shape_text()}), C={problem.C:g}, one shard, tol=1e-8; medians of "
                        f"{args.repeats} fits. Device: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}.")
    rows = [dict(device=name, seconds_per_iteration=t, iterations=int(m.n_iter_[0]),
                 rounds=int(m.n_communication_rounds_))
            for name, t, m in (("CPU", cpu, cpu_model), ("GPU", gpu, gpu_model))]
    report.rows, report.columns = rows, list(rows[0])
    report.sections.append(("## Time per iteration", markdown_table(
        ["device", "s/iteration", "iterations", "rounds"],
        [[r["device"], f"{r['seconds_per_iteration']:.4f}", r["iterations"], r["rounds"]] for r in rows],
    ) + f"\n\nCPU / GPU time per iteration: {cpu / gpu:.1f}x; max |coef GPU - coef CPU| = {gap:.1e}."))
    report.goals.append(bound_goal("the same fit on both: max |coef GPU - coef CPU|", gap, 1e-6))
    write(report, args.out)
    return 0
