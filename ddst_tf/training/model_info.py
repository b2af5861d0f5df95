"""model.json in model_dir: what is needed to rebuild a run's generator without its data."""

import json
import os

MODEL_INFO_NAME = "model.json"


def write_model_info(model_dir, model, image_shape, num_classes, latent_dim):
    info = {"model": model, "image_shape": [int(d) for d in image_shape],
            "num_classes": int(num_classes), "latent_dim": int(latent_dim)}
    tmp = os.path.join(model_dir, MODEL_INFO_NAME + ".tmp")
    with open(tmp, "w") as f:
        json.dump(info, f, indent=2)
    os.replace(tmp, os.path.join(model_dir, MODEL_INFO_NAME))


def read_model_info(model_dir):
    path = os.path.join(model_dir, MODEL_INFO_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} does not exist: --model_dir must be a directory written by ddst-train")
    with open(path) as f:
        return json.load(f)
