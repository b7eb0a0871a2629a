"""Keep Lightning's start-up chatter out of users' scripts and of the CLI.

Lightning logs a banner (``GPU available: False, used: False``, ``TPU available ...``), an
advertising tip, a ``Trainer.fit stopped`` line, the model summary table at the start of every
fit and "``weights_only`` was not set" at every ``Trainer.save_checkpoint``, all at INFO level,
and torch emits a deprecation warning about ``LeafSpec`` that users cannot act on. forecastab
raises those loggers (only those: Lightning's warnings and errors stay) to WARNING once, when its
models are imported, unless the user already set their level;
``logging.getLogger(name).setLevel(logging.INFO)`` brings one back, e.g. the model summary with
``name = "pytorch_lightning.callbacks.model_summary"``.
"""

from __future__ import annotations

import logging
import warnings

CHATTY_LOGGERS = (
    "pytorch_lightning.utilities.rank_zero",
    "lightning.pytorch.utilities.rank_zero",
    "lightning_fabric.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
    "pytorch_lightning.accelerators.cuda",
    "lightning.pytorch.accelerators.cuda",
    "pytorch_lightning.callbacks.model_summary",
    "lightning.pytorch.callbacks.model_summary",
    "pytorch_lightning.trainer.connectors.checkpoint_connector",
    "lightning.pytorch.trainer.connectors.checkpoint_connector",
)


def quiet_lightning() -> None:
    """Lightning's INFO banner and tips off; its warnings and errors stay."""
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:  # leave a level the user chose alone
            logger.setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
