"""Bad input anywhere a user can give it: each error names the bad value and what is allowed."""

import os

import gin
import pytest

from console_scripts import console_script
from ddst_tf.balance.density_controller import DensityController
from ddst_tf import config, stored_config
from ddst_tf.sparse.schedules import CosineDropFraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATIC_CONFIG = os.path.join(ROOT, "gin_configs", "digits_test.gin")
ADAPT_CONFIG = os.path.join(ROOT, "tests", "adapt_strict_tiny.gin")


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def make_trainer(model_dir, *bindings, recipe=STATIC_CONFIG):
    from ddst_tf.training.trainer import GANTrainer
    gin.clear_config()
    config.parse([recipe], list(bindings))
    return GANTrainer(model_dir=str(model_dir))


def controller(**overrides):
    return DensityController(**{"mode": "strict", "initial_density": 0.4,
                                "num_iterations": 100, "n_critic": 5, **overrides})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A static digits run with checkpoints ckpt-2 and ckpt-4 and its config.gin."""
    model_dir = tmp_path_factory.mktemp("trained")
    gin.clear_config()
    config.parse([STATIC_CONFIG], [], model_dir=str(model_dir))
    from ddst_tf.training.trainer import GANTrainer
    GANTrainer(model_dir=str(model_dir)).train()
    gin.clear_config()
    return model_dir


# ---------------------------------------------------------------- densities and schedules

@pytest.mark.parametrize("densities,message", [
    ((0.0, 0.5), r"GANTrainer.densities\[0\] \(d_G\) must be in \(0, 1\]; got 0"),
    ((0.5, 1.5), r"GANTrainer.densities\[1\] \(d_D\) must be in \(0, 1\]; got 1.5"),
])
def test_density_outside_unit_interval(tmp_path, densities, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(tmp_path, f"GANTrainer.densities = {densities}")


def test_controller_density_outside_unit_interval():
    with pytest.raises(ValueError, match=r"initial d_D \(GANTrainer.densities\[1\]\) must be in "
                                         r"\(0, 1\]; got 0"):
        controller(initial_density=0)


def test_d_max_below_initial_d_density():
    with pytest.raises(ValueError, match=r"d_max=0.3 is below initial_density=0.4; strict mode "
                                         r"needs d_max >= the initial D density"):
        controller(d_max=0.3)


@pytest.mark.parametrize("bounds", [(0.6, 0.5), (0.5, 0.5)])
def test_lower_bound_not_below_upper_bound(bounds):
    with pytest.raises(ValueError, match=rf"bounds need B- < B\+; got B-={bounds[0]} and "
                                         rf"B\+={bounds[1]}"):
        controller(bounds=bounds)


def test_d_update_period_not_positive(tmp_path):
    with pytest.raises(ValueError, match="DensityController.update_every must be a positive "
                                         "integer; got 0"):
        make_trainer(tmp_path, "DensityController.update_every = 0", recipe=ADAPT_CONFIG)


def test_g_update_period_not_positive():
    with pytest.raises(ValueError, match=r"CosineDropFraction.update_every must be a positive "
                                         r"integer; got -5"):
        CosineDropFraction(initial_fraction=0.5, update_every=-5, end_step=100)


def test_n_critic_below_one(tmp_path):
    with pytest.raises(ValueError, match=r"GANTrainer.n_critic must be a positive integer; got 0"):
        make_trainer(tmp_path, "GANTrainer.n_critic = 0")


@pytest.mark.parametrize("binding,message", [
    ("GANTrainer.nan_policy = 'retry'", r"GANTrainer.nan_policy must be one of \['stop', "
                                         r"'skip'\]; got 'retry'"),
    ("GANTrainer.keep_samples = 0", "GANTrainer.keep_samples must be a positive integer; got 0"),
    ("GANTrainer.check_invariants_every = -1",
     r"GANTrainer.check_invariants_every must be an integer >= 0; got -1"),
])
def test_reliability_options(tmp_path, binding, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(tmp_path, binding)


# ------------------------------------------------------------------ names, data, shapes

@pytest.mark.parametrize("binding,message", [
    ("GANTrainer.model = 'nope'", r"Unknown GAN model 'nope'; known models: \[.*'dcgan'.*\]"),
    ("GANTrainer.loss = 'nope'", r"Unknown GAN loss 'nope'; known losses: \[.*'hinge'.*\]"),
    ("GANTrainer.dataset = 'nope'", r"unknown dataset 'nope'; known datasets: \[.*'digits'.*\]"),
])
def test_unknown_names_list_the_known_ones(tmp_path, binding, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(tmp_path, binding)


def test_missing_image_folder(tmp_path):
    missing = str(tmp_path / "no_such_folder")
    with pytest.raises(FileNotFoundError, match=f"not found: '{missing}'; .*must be an existing "
                                                 f"folder of images"):
        make_trainer(tmp_path, "GANTrainer.dataset = 'image_folder'",
                     f"make_dataset.root = '{missing}'")


def test_missing_dataset_files(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10 is not in the Keras cache .* "
                                                r"downloads are off. Offline: use "
                                                r"make_dataset\('cifar10_jpeg'\)"):
        make_trainer(tmp_path, "GANTrainer.dataset = 'cifar10'",
                     "make_dataset.allow_download = False")


def test_image_shape_the_model_cannot_take(tmp_path):
    with pytest.raises(ValueError, match=r"dcgan does not support image_shape \(12, 12, 1\): it "
                                         r"needs square images of side"):
        make_trainer(tmp_path, "make_dataset.image_size = 12")


# ------------------------------------------------------------ model_dir and checkpoints

@pytest.mark.integration
def test_stored_config_of_another_run_is_refused_with_a_diff(run_copy):
    with open(run_copy / "config.gin") as f:
        stored = f.read()
    new = stored.replace("dcgan_generator.base_width = 8", "dcgan_generator.base_width = 4")
    new = new.replace("GANTrainer.num_iterations = 4", "GANTrainer.num_iterations = 9")
    with pytest.raises(stored_config.ConfigMismatchError) as raised:
        stored_config.check_resumable_config(str(run_copy), new)
    message = str(raised.value)
    assert "these bindings differ (stored -> new): dcgan_generator.base_width: 8 -> 4. " \
        in message and "\n" not in message
    assert "num_iterations: 4 -> 9" not in message
    assert "--allow_config_change" in message and "run length" in message
    allowed = stored_config.check_resumable_config(str(run_copy), new, allow_change=True)
    assert allowed == [("GANTrainer.num_iterations", "4", "9"),
                       ("dcgan_generator.base_width", "8", "4")]


@pytest.mark.integration
def test_run_length_and_logging_changes_resume_without_a_flag(run_copy):
    with open(run_copy / "config.gin") as f:
        stored = f.read()
    new = (stored.replace("GANTrainer.num_iterations = 4", "GANTrainer.num_iterations = 9")
           .replace("GANTrainer.log_every = 2", "GANTrainer.log_every = 3")
           + "\nPeriodicEvaluator.every = 4\n")
    assert stored_config.check_resumable_config(str(run_copy), new) == [
        ("GANTrainer.log_every", "2", "3"), ("GANTrainer.num_iterations", "4", "9"),
        ("PeriodicEvaluator.every", "(unset)", "4")]


@pytest.mark.integration
def test_ddst_train_refuses_a_changed_config_before_overwriting_it(run_copy):
    with open(run_copy / "config.gin") as f:
        stored = f.read()
    result = console_script("ddst-train", f"--gin_file={STATIC_CONFIG}",
                            f"--model_dir={run_copy}",
                            "--gin_bindings=GANTrainer.model = 'sngan32'", check=False)
    assert result.returncode != 0
    assert "GANTrainer.model: 'dcgan' -> 'sngan32'" in result.stderr
    with open(run_copy / "config.gin") as f:
        assert f.read() == stored


@pytest.mark.integration
def test_checkpoint_of_a_different_model(run_copy):
    from ddst_tf.training.checkpointing import CheckpointRestoreError
    trainer = make_trainer(run_copy, "dcgan_discriminator.base_width = 4")
    with pytest.raises(CheckpointRestoreError, match=r"Cannot restore checkpoint .*ckpt-4: .*"
                                                     r"written by a different model or config"):
        trainer.restore_or_initialize()


@pytest.mark.parametrize("part", ["index", "data-00000-of-00001"])
@pytest.mark.integration
def test_corrupted_checkpoint_file_names_it_and_the_way_out(run_copy, part):
    from ddst_tf.training.checkpointing import CheckpointRestoreError
    newest = run_copy / "checkpoints" / f"ckpt-4.{part}"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    trainer = make_trainer(run_copy)
    with pytest.raises(CheckpointRestoreError) as raised:
        trainer.restore_or_initialize()
    prefix = str(run_copy / "checkpoints" / "ckpt-4")
    assert str(raised.value).startswith(f"Cannot restore checkpoint {prefix}: ")
    assert (f"The file is corrupted, or was written by a different model or config. "
            f"Use the config the run was started with, delete its files "
            f"({prefix}.index, {prefix}.data-*) to use the previous checkpoint "
            f"{run_copy / 'checkpoints' / 'ckpt-2'}") in str(raised.value)
    for path in (run_copy / "checkpoints").glob("ckpt-4.*"):
        path.unlink()
    assert trainer.restore_or_initialize().endswith("ckpt-2")
    assert int(trainer.state.iteration.numpy()) == 2


@pytest.mark.integration
def test_state_file_listing_only_deleted_checkpoints(run_copy):
    from ddst_tf.training.checkpointing import CheckpointRestoreError
    for path in (run_copy / "checkpoints").glob("ckpt-*"):
        path.unlink()
    with pytest.raises(CheckpointRestoreError, match=r"has no complete checkpoint \(files: none; "
                                                     r"its state file lists \['ckpt-2', "
                                                     r"'ckpt-4'\]\).*--fresh_start"):
        make_trainer(run_copy).restore_or_initialize()


@pytest.mark.integration
def test_export_path_that_exists(run_copy, tmp_path):
    from ddst_tf.export import run_export
    with pytest.raises(FileExistsError, match=f"Export path '{tmp_path}' already exists; choose "
                                              f"a new --output or delete it"):
        run_export.export_run(str(run_copy), str(tmp_path))
