"""What every ddst-* command shares: --help lists its flags, user errors are one line.

absl's ``--help`` lists the key flags of the main module, which for a console script is the
wrapper pip generates, so the tool's own flags are declared key flags of it here (abseil-py
#320). An error a user can cause (a bad setting, a missing or existing file, a run that
cannot resume, a NaN) ends the command with one line naming it; ``--debug`` shows the
traceback instead. Anything else is a bug and keeps its traceback. TensorFlow's Python INFO
logs are left out, and ``--data_dir`` points the offline data files at a folder.
"""

import logging as std_logging
import sys

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_boolean("debug", False,
                     "On an error, show the full traceback instead of a one-line message.")
flags.DEFINE_string("data_dir", None,
                    "Folder of the offline data files (CIFAR-10 JPEG copy, SqueezeNet weights); "
                    "default $DDST_DATA_DIR, else ../shared/data beside a source checkout.")

USER_ERRORS = (ValueError, OSError, RuntimeError, SyntaxError, TypeError)
HELP_FLAGS = {"--help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml"}


def one_line(error):
    """The first line of an error's message (gin appends 'In call to configurable ...')."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0].strip()


def run_main(main, module_name):
    """``app.run(main)`` for the console script of ``module_name``."""
    program = sys.argv[0]
    for module in (module_name, __name__):
        for flag in FLAGS.flags_by_module_dict().get(module, []):
            FLAGS.register_key_flag_for_module(program, flag)

    def checked_main(argv):
        std_logging.getLogger("tensorflow").setLevel(std_logging.WARNING)
        if FLAGS.data_dir:
            from ddst_tf.data import locations
            locations.set_data_dir(FLAGS.data_dir)
        if FLAGS.debug:
            return main(argv)
        try:
            return main(argv)
        except USER_ERRORS as error:
            raise SystemExit(f"{_name(program)}: {one_line(error)} "
                             f"(--debug shows the traceback)") from None

    try:
        app.run(checked_main)
    except SystemExit as exit_:
        if exit_.code == 1 and set(sys.argv[1:]) & HELP_FLAGS:
            raise SystemExit(0) from None  # absl exits 1 after printing the help
        raise


def _name(program):
    return program.rsplit("/", 1)[-1]
