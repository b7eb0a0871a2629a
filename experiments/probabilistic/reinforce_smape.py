"""Does REINFORCE with an sMAPE reward lower a Gaussian GRU's validation sMAPE? (issue 11)

Yearly sunspots, split 60/20/20, context 30, horizon 20. A Gaussian GRU (hidden 32) is trained
``PRETRAIN_EPOCHS`` epochs teacher-forced by likelihood; its checkpoint is saved. From that
checkpoint (loaded with ``load_network_weights``, what ``init_from`` does in a YAML file) two
copies train ``FINE_TUNE_EPOCHS`` more epochs at a third of the learning rate: one with
``reinforce`` (reward ``smape``, 8 sampled paths per window, self-critical greedy baseline,
``nll_weight`` 0.1), one with teacher forcing (the control: is it REINFORCE, or just more
epochs?). Printed: free-running sMAPE (original units, the mean forecast, every origin of the
split) on validation and test, before and after, per seed and the mean over seeds.

Run: ``python experiments/probabilistic/reinforce_smape.py`` (about 3 minutes on the loaded 2-core CPU).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch

from forecastab.checkpoints import load_network_weights
from forecastab.data import WindowDataModule
from forecastab.evaluation.metrics import smape
from forecastab.models import ForecastModule, model_from_spec

L, H = 30, 20
PRETRAIN_EPOCHS = 30
FINE_TUNE_EPOCHS = 10
SEEDS = (0, 1, 2)
NETWORK = {"type": "rnn", "cell": "gru", "hidden_size": 32, "distribution": "gaussian",
           "learning_rate": 3e-3}
FINE_TUNE_LEARNING_RATE = 1e-3
TEACHER_FORCING = {"teacher_forcing": {"schedule": "constant", "ratio": 1.0}}
REINFORCE = {"method": "reinforce", "reinforce": {"reward": "smape", "samples": 8,
                                                  "nll_weight": 0.1}}


def validation_smape(module: ForecastModule, data: WindowDataModule, split: str) -> float:
    """Mean free-running sMAPE (percent, original units) over every origin of ``split``."""
    origins = data.origins(split)
    forecast = module.predict_origins(data.values, origins, context_length=L, horizon=H)
    truth = np.stack([data.values[t + 1 : t + H + 1] for t in origins])  # (N, H, C)
    scaler = data.scaler
    values = smape(scaler.inverse_transform(forecast), scaler.inverse_transform(truth))
    return float(values.per_step.mean())


def fit(module: ForecastModule, data: WindowDataModule, epochs: int) -> pl.Trainer:
    trainer = pl.Trainer(
        max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
        deterministic=True,
    )
    trainer.fit(module, datamodule=data)
    return trainer


def one_seed(seed: int, folder: Path) -> dict[str, tuple[float, float]]:
    data = WindowDataModule(
        "sunspots", context_length=L, horizon=H,
        split={"train": 0.6, "val": 0.2, "test": 0.2}, batch_size=32,
    )
    data.setup("fit")
    pl.seed_everything(seed, verbose=False)
    base = model_from_spec(NETWORK, context_length=L, horizon=H, n_targets=1,
                           strategy=TEACHER_FORCING)
    checkpoint = folder / f"teacher_forced_seed{seed}.ckpt"
    fit(base, data, PRETRAIN_EPOCHS).save_checkpoint(checkpoint)
    base.eval()
    rows = {"start (teacher-forced NLL)": (validation_smape(base, data, "val"),
                                           validation_smape(base, data, "test"))}
    for label, strategy in (("+ reinforce (reward smape)", REINFORCE),
                            ("+ teacher forcing (control)", TEACHER_FORCING)):
        pl.seed_everything(seed, verbose=False)
        network = {**NETWORK, "learning_rate": FINE_TUNE_LEARNING_RATE}
        module = model_from_spec(network, context_length=L, horizon=H, n_targets=1,
                                 strategy=strategy)
        load_network_weights(module, checkpoint)
        fit(module, data, FINE_TUNE_EPOCHS)
        module.eval()
        rows[label] = (validation_smape(module, data, "val"), validation_smape(module, data, "test"))
    return rows


def main() -> None:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in SEEDS:
            for label, scores in one_seed(seed, Path(folder)).items():
                results.setdefault(label, []).append(scores)
                print(f"seed {seed}  {label:30s} val sMAPE {scores[0]:6.2f}  "
                      f"test sMAPE {scores[1]:6.2f}", flush=True)
    print(f"mean over seeds {list(SEEDS)}, sunspots 60/20/20, L={L}, H={H}, free running:")
    for label, scores in results.items():
        val, test = np.mean(scores, axis=0)
        print(f"  {label:30s} val sMAPE {val:6.2f}  test sMAPE {test:6.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
