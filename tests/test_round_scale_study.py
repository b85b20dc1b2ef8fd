"""The round-scale study (``python -m benchmarks study round-scale``): its model fit and its registration.

The study itself starts clusters of up to 32 worker processes, so it is not
run here; its least-squares fit is checked on rows made from known
coefficients, and its shard function on its own.
"""

import importlib
import importlib.util

import numpy as np
import pytest

from _benchmarks import bench, needs_benchmarks

pytestmark = needs_benchmarks

# Coefficients of the synthetic cells: 1.5 ms per round trip, 0.4 ms per
# task, 2 GB/s (the orders of magnitude of a LocalCluster on one machine).
A, B, C = 1.5e-3, 4e-4, 5e-10



def synthetic_rows(a=A, b=B, c=C, shards_per_worker=(1, 2)):
    """Cells of the study's default grid, their seconds exactly ``a + b·tasks + c·bytes``."""
    rows = []
    for workers in (2, 4, 8, 16, 32):
        for per_worker in shards_per_worker:
            for floats in (10, 1_000, 100_000, 1_000_000):
                shards = workers * per_worker
                tasks = workers  # a worker's shards share one task
                nbytes = 2 * shards * 8 * floats
                rows.append(dict(tasks=tasks, bytes=nbytes, seconds=a + b * tasks + c * nbytes))
    return rows


@pytest.mark.parametrize("relative", [True, False])
def test_fit_round_model_recovers_known_coefficients(relative):
    study = bench("studies.round_scale")
    model = study.fit_round_model(synthetic_rows(), relative=relative)
    np.testing.assert_allclose([model.a, model.b, model.c], [A, B, C], rtol=1e-8)
    assert model.r2 == pytest.approx(1.0, abs=1e-12)
    assert model.median_relative_error < 1e-9
    assert model.cells == 40
    assert model.bytes_per_second == pytest.approx(1 / C)
    # 256 workers, one shard each, 1e5 floats: 1.5 ms + 102.4 ms + 204.8 ms
    assert float(model.predict(256, 2 * 256 * 8 * 100_000)) == pytest.approx(A + 256 * B + C * 409_600_000)


def test_fit_round_model_is_least_squares_on_noisy_cells():
    # Relative noise around known coefficients: the fit stays near them, and
    # its residuals are those of numpy's own least squares on the weighted system.
    study = bench("studies.round_scale")
    rng = np.random.default_rng(0)
    rows = synthetic_rows()
    for r in rows:
        r["seconds"] *= 1 + 0.02 * rng.standard_normal()
    model = study.fit_round_model(rows)
    np.testing.assert_allclose([model.a, model.b, model.c], [A, B, C], rtol=0.1)
    units = np.array([1.0, 1e2, 1e9])  # columns of comparable size, for numpy's rank cut-off
    design = np.array([[1.0, r["tasks"], r["bytes"]] for r in rows]) / units
    seconds = np.array([r["seconds"] for r in rows])
    reference, *_ = np.linalg.lstsq(design / seconds[:, None], np.ones_like(seconds), rcond=None)
    reference /= units
    np.testing.assert_allclose([model.a, model.b, model.c], reference, rtol=1e-6)


def test_fit_round_model_refuses_undetermined_models():
    study = bench("studies.round_scale")
    with pytest.raises(ValueError, match="at least 3"):
        study.fit_round_model(synthetic_rows()[:2])
    # one shard per worker and one message size: bytes proportional to tasks
    same_size = [r for r in synthetic_rows(shards_per_worker=(1,)) if r["bytes"] == 2 * r["tasks"] * 8 * 1_000]
    with pytest.raises(ValueError, match="not determined"):
        study.fit_round_model(same_size)
    with pytest.raises(ValueError, match="positive"):
        study.fit_round_model([dict(tasks=1, bytes=1, seconds=0.0)] * 3)


def test_the_shard_function_replies_its_size_and_counts_its_rounds():
    study = bench("studies.round_scale")
    reply, state = study.echo_shard(None, None, np.zeros(5), reply_floats=7)
    assert isinstance(reply, tuple) and reply[0].shape == (7,) and reply[0].dtype == np.float64
    assert state == 1
    assert study.echo_shard(None, state, np.zeros(5), reply_floats=7)[1] == 2
    assert study.round_trip_bytes(shards=4, floats=1_000) == 64_000


def test_the_study_is_registered():
    studies = bench("studies")
    assert studies.STUDIES["round-scale"] == "benchmarks.studies.round_scale"
    module = studies.load("round-scale")
    assert module is bench("studies.round_scale")
    assert callable(module.main)
    assert "python -m benchmarks study round-scale" in module.__doc__
    assert isinstance(module.CONSTANTS, dict)
    for constant, where in module.CONSTANTS.items():
        assert hasattr(importlib.import_module(where), constant), f"{where}.{constant}"
