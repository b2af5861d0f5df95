"""ddst_tf: balanced dynamic sparse training for GANs (ADAPT) in TensorFlow/Keras 3."""

import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
REQUIREMENTS = [
    line.split("#")[0].strip()
    for line in (HERE / "requirements-runtime.txt").read_text().splitlines()
    if line.split("#")[0].strip()
]

setup(
    name="ddst_tf",
    version="0.1.0",
    description="Balanced dynamic sparse training for GANs (ADAPT) with TensorFlow and Keras 3",
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    packages=find_packages(include=["ddst_tf", "ddst_tf.*"]),
    python_requires=">=3.11,<3.12",
    install_requires=REQUIREMENTS,
    entry_points={
        "console_scripts": [
            "ddst-train=ddst_tf.cli.train:run",
            "ddst-export=ddst_tf.cli.export:run",
            "ddst-eval=ddst_tf.cli.evaluate:run",
        ]
    },
)
