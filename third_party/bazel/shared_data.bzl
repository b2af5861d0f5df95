"""`@shared//:data`: the optional data folder next to the repo (../shared/data) as a repository.

Tests find that folder as `<repo>/../shared/data`; in a test's runfiles the main
repository is `<runfiles>/<workspace name>` and this repository is
`<runfiles>/shared`, so the same relative path works under Bazel. When the folder
is absent the filegroup is empty and the tests that need it skip, as under pytest.
"""

_BUILD = """
filegroup(
    name = "data",
    srcs = glob(["data/**"]),
    visibility = ["//visibility:public"],
)
"""

def _shared_data_impl(rctx):
    folder = rctx.path(Label("@//:WORKSPACE")).dirname.dirname.get_child("shared").get_child("data")
    if folder.exists:
        for entry in folder.readdir():
            rctx.symlink(entry, "data/" + entry.basename)
    rctx.file("BUILD", _BUILD)
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)

shared_data = repository_rule(
    implementation = _shared_data_impl,
    local = True,
)
