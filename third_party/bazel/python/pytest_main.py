"""Entry point of the pytest-style py_test targets: runs pytest on the modules named in argv.

Under Bazel every file a test writes goes below $TEST_TMPDIR (tmp_path, tempfile,
the Hypothesis database, Keras' config dir, which otherwise falls back to /tmp/.keras
because the sandbox makes HOME read-only), pytest's cache is off (runfiles are
read-only), and the JUnit report goes where Bazel collects it.
"""

import os
import sys

import pytest


def pytest_args(argv, environ):
    """The pytest command line for the test modules in argv, given Bazel's test environment."""
    args = ["-q", "-p", "no:cacheprovider", "-m", "not slow and not integration", *argv]
    test_tmpdir = environ.get("TEST_TMPDIR")
    if test_tmpdir:
        args.append("--basetemp=" + os.path.join(test_tmpdir, "pytest"))
    xml_output = environ.get("XML_OUTPUT_FILE")
    if xml_output:
        args.append("--junitxml=" + xml_output)
    return args


def redirect_scratch_files(environ):
    """Point tempfile, the Hypothesis example database and KERAS_HOME at $TEST_TMPDIR."""
    test_tmpdir = environ.get("TEST_TMPDIR")
    if test_tmpdir:
        environ["TMPDIR"] = test_tmpdir
        environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(test_tmpdir, "hypothesis"))
        environ.setdefault("KERAS_HOME", os.path.join(test_tmpdir, "keras"))


if __name__ == "__main__":
    redirect_scratch_files(os.environ)
    sys.exit(pytest.main(pytest_args(sys.argv[1:], os.environ)))
