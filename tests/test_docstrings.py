"""The examples of the public docstrings run, and print what they say they print (doctest).

Every ``>>>`` example in the package's docstring, in the docstrings of the
public classes (``sklearn_dingo.__all__``) and of their methods, including
those they inherit from the package's own base classes, is one test here.
Only ``sklearn_dingo`` itself is imported: no Dask.
"""

import doctest

import pytest

import sklearn_dingo

OPTIONS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _public_docstring_examples():
    """The doctests of the package, its public classes and their methods, each docstring once."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = {}  # (file, line) -> DocTest: a docstring seen through several classes runs once
    candidates = [(sklearn_dingo, "sklearn_dingo")]
    for name in sklearn_dingo.__all__:
        public = getattr(sklearn_dingo, name)
        if isinstance(public, type):  # the class, and the package's classes it inherits from
            candidates += [
                (cls, f"sklearn_dingo.{name}" if cls is public else f"sklearn_dingo.{cls.__name__}")
                for cls in public.__mro__
                if cls.__module__.startswith("sklearn_dingo")
            ]
    for obj, name in candidates:
        for test in finder.find(obj, name):
            if test.examples:
                found.setdefault((test.filename, test.lineno), test)
    return sorted(found.values(), key=lambda test: test.name)


EXAMPLES = _public_docstring_examples()


def test_the_public_classes_have_examples():
    documented = {test.name.split(".")[1] for test in EXAMPLES}
    assert {name for name in sklearn_dingo.__all__ if isinstance(getattr(sklearn_dingo, name), type)} <= documented


@pytest.mark.parametrize("example", EXAMPLES, ids=[test.name for test in EXAMPLES])
def test_docstring_example(example):
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = []
    example.globs = {}  # a fresh namespace, as doctest gives each docstring
    runner.run(example, out=report.append)
    if runner.failures:
        pytest.fail("".join(report), pytrace=False)
