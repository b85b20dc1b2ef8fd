"""The documentation builds, every page and docstring, with warnings as errors.

The gallery's examples are not run here (``plot_gallery=0``: their pages are
built from the scripts' text) and no other project's inventory is fetched
(``SKLEARN_DINGO_DOCS_OFFLINE``): the full build is the documented command,
``python -m sphinx -W -b html doc doc/_build/html``.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "doc"
PUBLIC = ["DingoLogisticRegression", "DingoSoftmaxRegression", "DingoLogisticRegressionCV", "DingoSoftmaxRegressionCV"]


@pytest.mark.docs
@pytest.mark.slow
@pytest.mark.skipif(not (DOC / "conf.py").exists(), reason="doc/ is not part of this installation")
def test_documentation_builds_without_warnings(tmp_path):
    # a copy of the sources: the build writes its generated pages next to them
    for part in ("doc", "examples"):
        shutil.copytree(
            ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("_build", "generated", "auto_examples")
        )
    (tmp_path / "benchmarks").mkdir()
    shutil.copy(ROOT / "benchmarks" / "RESULTS.md", tmp_path / "benchmarks")
    out = tmp_path / "html"
    env = {**os.environ, "SKLEARN_DINGO_DOCS_OFFLINE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-D", "plot_gallery=0",
         "-d", str(tmp_path / "doctrees"), str(tmp_path / "doc"), str(out)],
        check=False, capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    for name in PUBLIC:
        page = (out / "generated" / f"sklearn_dingo.{name}.html").read_text()
        assert "Parameters" in page and "fit" in page, name
    for page in ("getting_started", "user_guide", "cluster", "ALGORITHM", "api", "benchmarks", "changelog"):
        assert (out / f"{page}.html").exists(), page
    gallery = (out / "auto_examples" / "index.html").read_text()
    assert "plot_convergence" in gallery and "plot_cv_path" in gallery
