"""The distributed training input of a run, positioned at any iteration.

The pipeline's order is a pure function of (data, seed, layout), so starting it after
``iteration * n_critic`` D batches replays exactly what an uninterrupted run would read next:
a resumed or rolled-back run continues the same stream. Each input pipeline of a strategy
reads its own shard (``distribute_datasets_from_function``).
"""


class TrainingInput:
    """Real batches of ``disc_batch_size`` (global) from an ``ImageData`` under ``strategy``."""

    def __init__(self, data, strategy, disc_batch_size, n_critic, seed):
        self.data = data
        self.strategy = strategy
        self.disc_batch_size = disc_batch_size
        self.n_critic = n_critic
        self.seed = seed

    def iterator_at(self, iteration):
        """An iterator over the batches that follow ``iteration`` completed iterations."""
        start = int(iteration) * self.n_critic
        dataset = self.strategy.distribute_datasets_from_function(
            lambda ctx: self.data.train_dataset(self.disc_batch_size, seed=self.seed,
                                                input_context=ctx, start_step=start))
        return iter(dataset)
