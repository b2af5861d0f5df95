"""The installable package: public names, version, .keras loading after ``import ddst_tf``, the
console scripts' help and one-line errors, a quiet healthy run, and a wheel that installs into
a fresh venv and trains a recipe by name from outside the repository."""

import glob
import os
import re
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement

from console_scripts import BIN, DIGITS_CONFIG, ENV, ROOT, console_script

pytestmark = pytest.mark.integration

TOOLS = ("ddst-train", "ddst-export", "ddst-eval", "ddst-flops", "ddst-plot")
# Native log prefixes of warnings and errors (absl C++ and Python), and the plain words.
NOISE = re.compile(r"^([EWF]\d{4} |.*\b(WARNING|ERROR)\b)")


def _pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        return tomllib.load(handle)


def test_public_names_of_the_readme_import():
    import ddst_tf
    from ddst_tf.balance import BalanceRatio, DensityController  # noqa: F401
    from ddst_tf.eval import PeriodicEvaluator, frechet_distance_from_activations  # noqa: F401
    from ddst_tf.export import export_saved_model, strip  # noqa: F401
    from ddst_tf.flops import FlopsAccountant, estimate  # noqa: F401
    from ddst_tf.layers import MaskedConv2D, MaskedConv2DTranspose, MaskedDense  # noqa: F401
    from ddst_tf.sparse import CosineDropFraction, DynamicSparsity, SparseInit  # noqa: F401
    from ddst_tf.training import GANStep, GANTrainer, IterationPlan, TrainState  # noqa: F401
    assert re.fullmatch(r"\d+\.\d+\.\d+", ddst_tf.__version__)
    for module in ("balance", "eval", "export", "flops", "layers", "sparse", "training"):
        package = __import__(f"ddst_tf.{module}", fromlist=["__all__"])
        assert all(hasattr(package, name) for name in package.__all__), module


def test_the_wheel_lists_every_subpackage():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = {os.path.relpath(os.path.dirname(path), ROOT).replace(os.sep, ".")
             for path in glob.glob(os.path.join(ROOT, "ddst_tf", "**", "__init__.py"),
                                   recursive=True)}
    assert listed == found | {"ddst_tf.gin_configs"}


def test_declared_ranges_admit_the_locked_versions():
    project = _pyproject()["project"]
    declared = [Requirement(r) for r in project["dependencies"]
                + project["optional-dependencies"]["cpu"]
                + project["optional-dependencies"]["test"]]
    with open(os.path.join(ROOT, "requirements.txt")) as handle:
        locked = dict(line.split("#")[0].strip().split("==") for line in handle
                      if "==" in line.split("#")[0])
    for requirement in declared:
        assert requirement.name in locked, f"{requirement.name} is not in requirements.txt"
        assert requirement.specifier.contains(locked[requirement.name]), requirement


def test_keras_file_with_masks_loads_after_import_ddst_tf(tmp_path):
    from ddst_tf.export.keras_file import save_sparse_model
    from tiny_models import sparse_network
    path = str(tmp_path / "sparse.keras")
    save_sparse_model(sparse_network("dcgan", "discriminator"), path)
    script = ("import keras, ddst_tf\n"
              f"model = keras.saving.load_model({path!r})\n"
              "print(sorted({type(layer).__name__ for layer in model.layers}))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env=ENV, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "MaskedConv2D" in result.stdout and "MaskedDense" in result.stdout


@pytest.mark.parametrize("tool,own_flags", [("ddst-train", ["--gin_file", "--model_dir"]),
                                            ("ddst-export", ["--output"]),
                                            ("ddst-eval", ["--metrics"]),
                                            ("ddst-flops", ["--json_out"]),
                                            ("ddst-plot", ["--output_dir"])])
def test_help_lists_the_tools_own_flags(tool, own_flags):
    result = console_script(tool, "--help")
    for flag in own_flags:
        assert f"  {flag}:" in result.stdout, flag
    assert "  --[no]debug:" in result.stdout


@pytest.mark.parametrize("arguments,message", [
    (["ddst-train", "--model_dir=run"], "--gin_file is required"),
    (["ddst-train", "--model_dir=run", "--gin_file=nope/recipe.gin"],
     "--gin_file 'nope/recipe.gin' is neither a file nor a recipe"),
    (["ddst-train", "--model_dir=run", f"--gin_file={DIGITS_CONFIG}",
      "--gin_bindings=GANTrainer.densities = (1.5, 0.5)"],
     r"GANTrainer.densities\[0\] \(d_G\) must be in \(0, 1\]; got 1.5"),
    (["ddst-export", "--model_dir=no_run", "--output=out"],
     "no_run/model.json does not exist: --model_dir must be a directory written by ddst-train"),
    (["ddst-flops", "--gin_file=sngan_cifar10/static_balance.gin",
      "--gin_bindings=D_G = 'abc'"], "must be a finite number; got 'abc'"),
])
def test_known_bad_input_ends_with_one_line(tmp_path, arguments, message):
    result = subprocess.run([os.path.join(BIN, arguments[0]), *arguments[1:]],
                            capture_output=True, text=True, timeout=300, env=ENV,
                            cwd=str(tmp_path))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert re.search(message, lines[-1]), lines[-1]


@pytest.mark.parametrize("arguments,shown", [
    (["ddst-train", "--model_dir=run"], "USAGE"),  # a usage error shows the usage
    (["ddst-export", "--model_dir=no_run", "--output=out"], "Traceback"),
])
def test_debug_shows_the_traceback_or_the_usage(tmp_path, arguments, shown):
    debug = subprocess.run([os.path.join(BIN, arguments[0]), *arguments[1:], "--debug"],
                           capture_output=True, text=True, timeout=300, env=ENV,
                           cwd=str(tmp_path))
    assert debug.returncode != 0
    assert shown in debug.stderr, debug.stderr[-2000:]


def test_a_healthy_run_prints_no_warning_or_error_lines(tmp_path):
    env = {key: value for key, value in ENV.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    run = str(tmp_path / "run")
    outputs = []
    for arguments in (["ddst-train", f"--gin_file={DIGITS_CONFIG}", f"--model_dir={run}"],
                      ["ddst-plot", f"--model_dir={run}"],
                      ["ddst-export", f"--model_dir={run}", f"--output={tmp_path / 'g'}"]):
        result = subprocess.run([os.path.join(BIN, arguments[0]), *arguments[1:]],
                                capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
        assert result.returncode == 0, result.stderr[-3000:]
        outputs.append(result.stderr)
    noise = [line for text in outputs for line in text.splitlines() if NOISE.match(line)]
    assert noise == []
    assert "Finished iteration 4: d_G 0.500, d_D 0.500" in outputs[0]
    assert re.search(r"iteration 4/4 .* elapsed 0:00:\d\d  ETA 0:00:00", outputs[0])


def test_wheel_installs_into_a_fresh_venv_and_trains_a_recipe_by_name(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", ROOT, "-w", str(wheels)], check=True, capture_output=True, timeout=300,
                   env={**ENV, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}, cwd=str(tmp_path))
    (wheel,) = glob.glob(str(wheels / "ddst_tf-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "ddst_tf/gin_configs/quickstart.gin" in names
    assert "ddst_tf/gin_configs/common/adapt_relax.gin" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    site = glob.glob(str(venv / "lib" / "python3.*" / "site-packages"))[0]
    # The dependencies come from this venv's site-packages (tests stay offline); its own
    # ddst_tf (an editable install of the repo) does not: only .pth files of the new venv run.
    this_site = [path for path in sys.path if path.endswith("site-packages")][0]
    with open(os.path.join(site, "dependencies.pth"), "w") as handle:
        handle.write(this_site + "\n")
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-index", "--no-deps",
                    wheel], check=True, capture_output=True, timeout=300)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import ddst_tf; print(ddst_tf.__file__)"], capture_output=True,
                           text=True, timeout=120, env=ENV, cwd=str(outside))
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    result = subprocess.run([str(venv / "bin" / "ddst-train"), "--gin_file=digits_test.gin",
                             "--model_dir=run", "--gin_bindings=GANTrainer.num_iterations = 2"],
                            capture_output=True, text=True, timeout=300, env=ENV,
                            cwd=str(outside))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (outside / "run" / "checkpoints" / "checkpoint").is_file()
    listed = subprocess.run([str(venv / "bin" / "ddst-train"), "--list_recipes"],
                            capture_output=True, text=True, timeout=120, env=ENV, cwd=str(outside))
    assert "sngan_cifar10/adapt_relax.gin" in listed.stdout.split()
