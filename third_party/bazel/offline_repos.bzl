"""Offline stand-ins for the repositories Bazel 4.2.3 (Debian bazel-bootstrap) would download.

Bazel's built-in WORKSPACE suffix defines rules_cc, rules_java and
remote_coverage_tools with http_archive only when the project's WORKSPACE has
not defined them, so defining these small local stubs first keeps `bazel test`
fully offline. The rules_cc/rules_java stubs forward to Bazel's native rules
(as Debian's own bazel-bootstrap-source mock_repos do); `bazel coverage` does
not work with the stub coverage tools.

rules_python is stubbed the same way so that BUILD files can load the Python
rules from `@rules_python//python:defs.bzl`, which is where current Bazel
expects them. Each stub is skipped when the WORKSPACE already defined a
repository of that name, so a real rules_python declared before
`offline_repos()` takes precedence.
"""

_RULES_CC_DEFS = """
def cc_binary(**kwargs):
    native.cc_binary(**kwargs)

def cc_library(**kwargs):
    native.cc_library(**kwargs)

def cc_test(**kwargs):
    native.cc_test(**kwargs)

def cc_import(**kwargs):
    native.cc_import(**kwargs)

def objc_library(**kwargs):
    native.objc_library(**kwargs)

def cc_proto_library(**kwargs):
    native.cc_proto_library(**kwargs)

def cc_toolchain(**kwargs):
    native.cc_toolchain(**kwargs)

def cc_toolchain_suite(**kwargs):
    native.cc_toolchain_suite(**kwargs)
"""

_RULES_JAVA_DEFS = """
def java_binary(**kwargs):
    native.java_binary(**kwargs)

def java_library(**kwargs):
    native.java_library(**kwargs)

def java_test(**kwargs):
    native.java_test(**kwargs)

def java_proto_library(**kwargs):
    native.java_proto_library(**kwargs)

def java_import(**kwargs):
    native.java_import(**kwargs)

def java_toolchain(**kwargs):
    native.java_toolchain(**kwargs)

def java_runtime(**kwargs):
    native.java_runtime(**kwargs)

def java_plugin(**kwargs):
    native.java_plugin(**kwargs)
"""

_RULES_PYTHON_DEFS = """
load("@bazel_tools//tools/python:toolchain.bzl", _py_runtime_pair = "py_runtime_pair")

py_runtime_pair = _py_runtime_pair

def py_library(**kwargs):
    native.py_library(**kwargs)

def py_binary(**kwargs):
    native.py_binary(**kwargs)

def py_test(**kwargs):
    native.py_test(**kwargs)

def py_runtime(**kwargs):
    native.py_runtime(**kwargs)
"""

_COVERAGE_BUILD = """
package(default_visibility = ["//visibility:public"])

filegroup(name = "coverage_report_generator", srcs = [])

filegroup(name = "lcov_merger", srcs = [])
"""

def _stub_repo_impl(rctx):
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)
    for path, content in rctx.attr.files.items():
        rctx.file(path, content)

_stub_repo = repository_rule(
    implementation = _stub_repo_impl,
    attrs = {"files": attr.string_dict()},
    local = True,
)

def _maybe_stub(name, files):
    if name not in native.existing_rules():
        _stub_repo(name = name, files = files)

def offline_repos():
    """Defines the local stubs for rules_cc, rules_java, remote_coverage_tools and rules_python."""
    _maybe_stub("rules_cc", {"BUILD": "", "cc/BUILD": "", "cc/defs.bzl": _RULES_CC_DEFS})
    _maybe_stub("rules_java", {"BUILD": "", "java/BUILD": "", "java/defs.bzl": _RULES_JAVA_DEFS})
    _maybe_stub("remote_coverage_tools", {"BUILD": _COVERAGE_BUILD})
    _maybe_stub("rules_python", {"BUILD": "", "python/BUILD": "", "python/defs.bzl": _RULES_PYTHON_DEFS})
