"""State shared by the modules through class attributes, as the 2023 training code did: the
model writes to it while it fits, the entry function reads it to write its outputs."""


class TrainingState:
    epochs_done = 0
    losses = []

    @classmethod
    def record(cls, loss):
        cls.epochs_done += 1
        cls.losses.append(round(loss, 9))

    @classmethod
    def reset(cls):
        cls.epochs_done = 0
        cls.losses = []
