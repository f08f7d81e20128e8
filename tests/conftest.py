"""Shared by every test folder.

Besides what it defines, this file puts ``tests/`` on ``sys.path``: with pytest's
default ("prepend") import mode, the directory of a conftest.py that is not inside
a package is inserted there before the conftest is imported. That is what lets a
test in any folder ``import helpers`` (``tests/helpers.py``), however pytest or nox
is started, just as the test modules' own directory is there for
``example_helpers`` in ``tests/examples``. Keep this file even if it defines nothing.
"""
