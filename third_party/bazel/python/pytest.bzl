"""`pytest_test`: one py_test per pytest module, run through pytest_main.py."""

load("@rules_python//python:defs.bzl", "py_test")

def pytest_test(name, deps = [], data = [], size = "medium", **kwargs):
    """A py_test running the pytest module `<name>.py` of this package.

    conftest.py of the package and the repo's pytest.ini (markers, warning filters)
    come along; tests marked `slow` or `integration` are deselected (tools/test.sh runs
    the integration tests with pytest).

    Args:
      name: the module name without `.py` (e.g. "test_losses").
      deps: the py_library targets the module imports.
      data: extra runtime files (configs, scripts the test runs).
      size: Bazel test size; medium (300 s timeout) leaves room for `import tensorflow`.
      **kwargs: passed on to py_test (tags, shard_count, ...).
    """
    module = name + ".py"
    py_test(
        name = name,
        size = size,
        srcs = [module, "conftest.py", "//third_party/bazel/python:pytest_main.py"],
        main = "//third_party/bazel/python:pytest_main.py",
        args = ["$(location %s)" % module],
        data = data + ["//:pytest.ini"],
        # Keep the source layout (tests/ has no __init__.py) so pytest imports the
        # module the same way as outside Bazel.
        legacy_create_init = 0,
        python_version = "PY3",
        deps = deps,
        **kwargs
    )
