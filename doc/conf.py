"""Sphinx configuration of the sklearn-dingo documentation.

Build the whole site (the gallery's examples are run, about a minute each)::

    pip install ".[doc]"
    python -m sphinx -W -b html doc doc/_build/html

``SKLEARN_DINGO_DOCS_OFFLINE=1`` leaves out the links into other projects'
documentation (intersphinx fetches their inventories over the network), and
``-D plot_gallery=0`` builds the gallery's pages without running the examples:
what the test suite does to check every page and docstring.
"""

import os

import sklearn_dingo

project = "sklearn-dingo"
copyright = "the sklearn-dingo developers"  # noqa: A001 - Sphinx's name
author = "the sklearn-dingo developers"
version = release = sklearn_dingo.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]
templates_path = ["_templates"]

# -- Markdown pages (user guide, algorithm, benchmarks) -----------------------------
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3  # "#heterogeneous-shards-..." links of RESULTS.md

# -- API reference ------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = True
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False

# -- links into the documentation of the libraries this one builds on ----------------
if os.environ.get("SKLEARN_DINGO_DOCS_OFFLINE"):
    intersphinx_mapping = {}
else:
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "dask": ("https://docs.dask.org/en/stable", None),
        "distributed": ("https://distributed.dask.org/en/stable", None),
    }

# -- gallery ------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
}

# -- HTML ---------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-dingo {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
