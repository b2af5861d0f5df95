"""ddst_tf: balanced dynamic sparse training for GANs (ADAPT) in TensorFlow/Keras 3."""
