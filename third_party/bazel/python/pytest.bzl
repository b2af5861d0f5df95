"""`pytest_test`: a py_test running pytest modules in one process through pytest_main.py."""

load("@rules_python//python:defs.bzl", "py_test")

def pytest_test(name, modules, deps = [], data = [], size = "medium", timeout = "long", **kwargs):
    """A py_test running the pytest modules `<module>.py` of this package in one process.

    conftest.py of the package and the repo's pytest.ini (markers, warning filters)
    come along; tests marked `slow` or `integration` are deselected (tools/test.sh runs
    the integration tests with pytest).

    Args:
      name: the target name (e.g. "layers_test").
      modules: the module names without `.py` (e.g. ["test_losses"]).
      deps: the py_library targets the modules import.
      data: extra runtime files (configs, scripts the tests run).
      size: Bazel test size (the resources it is given).
      timeout: "long" (900 s): tools/test.sh runs Bazel at low priority beside pytest, where
        a target takes several times its ~10-80 s on an idle machine.
      **kwargs: passed on to py_test (tags, shard_count, ...).
    """
    files = [module + ".py" for module in modules]
    py_test(
        name = name,
        size = size,
        timeout = timeout,
        srcs = files + ["conftest.py", "//third_party/bazel/python:pytest_main.py"],
        main = "//third_party/bazel/python:pytest_main.py",
        args = ["$(location %s)" % f for f in files],
        data = data + ["//:pytest.ini"],
        # Keep the source layout (tests/ has no __init__.py) so pytest imports the
        # modules the same way as outside Bazel.
        legacy_create_init = 0,
        python_version = "PY3",
        deps = deps,
        **kwargs
    )
