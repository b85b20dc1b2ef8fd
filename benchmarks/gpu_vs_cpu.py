"""GPU (CuPy) against CPU (NumPy) time per DINGO iteration on the softmax problem.

Fits ``DingoSoftmaxRegression`` in-process on benchmark problem 4 (60,000 x
784, 10 classes, C=10, no intercept) once with NumPy arrays and once with
CuPy arrays under ``sklearn.config_context(array_api_dispatch=True)``, and
prints seconds per iteration, their ratio, and the largest coefficient
difference between the two fits. Needs CuPy and a CUDA device; without them
it says so and exits with status 0.

Run: ``SCIPY_ARRAY_API=1 python benchmarks/gpu_vs_cpu.py [--quick] [--repeats N]``
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # scikit-learn's array API dispatch needs it

import numpy as np  # noqa: E402
import sklearn  # noqa: E402

from sklearn_dingo import DingoSoftmaxRegression  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _problems import make_problem  # noqa: E402


def _cupy():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "no CUDA device is visible"
        return cupy, None
    except ImportError:
        return None, "CuPy is not installed (pip install 'sklearn-dingo[gpu]')"
    except Exception as exc:  # CUDA driver or runtime unusable
        return None, f"CUDA is unusable: {exc}"


def _time_per_iteration(X, y, C, repeats, synchronize):
    times, model = [], None
    for _ in range(repeats):
        model = DingoSoftmaxRegression(C=C, fit_intercept=False, tol=1e-8, n_shards=1)
        t0 = time.perf_counter()
        model.fit(X, y)
        synchronize()
        times.append((time.perf_counter() - t0) / max(int(model.n_iter_[0]), 1))
    return statistics.median(times), model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small CI size of the problem")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    cupy, why = _cupy()
    if cupy is None:
        print(f"GPU comparison skipped: {why}.")
        return 0
    problem = make_problem(4, "quick" if args.quick else "default")
    cpu, cpu_model = _time_per_iteration(problem.X, problem.y, problem.C, args.repeats, lambda: None)
    X_gpu, y_gpu = cupy.asarray(problem.X), cupy.asarray(problem.y)
    sync = cupy.cuda.Device().synchronize
    with sklearn.config_context(array_api_dispatch=True):
        gpu, gpu_model = _time_per_iteration(X_gpu, y_gpu, problem.C, args.repeats, sync)
    gap = float(np.max(np.abs(gpu_model.coef_ - cpu_model.coef_)))
    print(f"problem 4 ({problem.shape_text()}), C={problem.C:g}, median of {args.repeats}")
    print(f"{'device':<6} {'s/iteration':>12} {'iterations':>10}")
    print(f"{'CPU':<6} {cpu:>12.4f} {cpu_model.n_iter_[0]:>10}")
    print(f"{'GPU':<6} {gpu:>12.4f} {int(gpu_model.n_iter_[0]):>10}")
    print(f"CPU / GPU time per iteration: {cpu / gpu:.1f}x; max |coef GPU - coef CPU| = {gap:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
