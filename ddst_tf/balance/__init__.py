"""The balance ratio (BR) between G and D, and the BR-driven density controller of D."""

from ddst_tf.balance.balance_ratio import BalanceRatio, balance_ratio_sample, check_br_config
from ddst_tf.balance.density_controller import Decision, DensityController

__all__ = ["BalanceRatio", "Decision", "DensityController", "balance_ratio_sample",
           "check_br_config"]
