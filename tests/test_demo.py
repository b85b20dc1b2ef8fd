"""The demo (``python -m sklearn_dingo``) runs and reports DINGO beside scikit-learn."""

import re

import pytest

from sklearn_dingo._demo import main


@pytest.mark.slow  # three problems fitted by DINGO and by scikit-learn
def test_demo_runs_and_agrees_with_scikit_learn(capsys):
    # a small generated problem: the bundled data sets as in the real demo
    assert main(["--scale", "0.05"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^(.{41}) +(\d+) +(\d+) +([-+0-9.e]+) +[0-9.]+ +[0-9.]+$", out, flags=re.MULTILINE)
    assert len(rows) == 3, out
    for name, iters, rounds, gap in rows:
        assert int(iters) >= 1 and int(rounds) >= 4
        # DINGO's objective is scikit-learn's optimum (tol=1e-8 against lbfgs at 1e-10)
        assert abs(float(gap)) < 1e-8, (name, gap)
