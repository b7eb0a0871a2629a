"""The flipped-classroom paper's own trained models, scored on this study's test windows.

Teutsch & Mader (TMLR 2022) released the weights of every model they report (github.com/phit3/
flipped_classroom, ``results/essential/<STRATEGY>/<system>/checkpoints/{encoder,decoder}``: a
GRU encoder and a GRU decoder with a linear head, 256 units, PyTorch state dicts). This script
rebuilds that network here (its own code: a GRU over the context from a random initial state, as
the paper's test does with seed 0, then the decoder fed its own outputs from the last observed
value) and scores it on exactly the test windows of the study's YAML file, in the study's units
(z-scored by the training rows, NRMSE as ``flipped_classroom_table.py`` computes it). If the
paper's models reach the paper's numbers here, the data, the windows and the error measure are
not why this study's ratios differ: the training is.

    python experiments/flipped_classroom/paper_checkpoints.py \\
        experiments/flipped_classroom/flipped_classroom_thomas.yaml /path/to/flipped_classroom/results/essential thomas
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flipped_classroom_table import PAPER, median_nrmse  # noqa: E402

from forecastab.experiments.config import load_config  # noqa: E402
from forecastab.experiments.runner import build_datamodule  # noqa: E402

STRATEGIES = {
    "TF": "teacher_forcing",
    "FR": "free_running",
    "CL_CTF_P": "constant",
    "CL_DTF_P_Lin": "decreasing_probabilistic",
    "CL_ITF_P_Lin": "increasing_probabilistic",
    "CL_ITF_D_Lin": "increasing_deterministic",
}
"""The paper's model folders and this study's names for the same strategies."""


class PaperSeq2Seq(nn.Module):
    """The paper's encoder-decoder: ``encoder_gru``, ``decoder_gru`` and ``linear``."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.encoder_gru = nn.GRU(channels, hidden)
        self.decoder_gru = nn.GRU(channels, hidden)
        self.linear = nn.Linear(hidden, channels)

    @torch.no_grad()
    def forward(self, context: torch.Tensor, horizon: int, state: torch.Tensor) -> torch.Tensor:
        """Free-running forecasts ``(N, H, C)`` of contexts ``(N, L, C)``."""
        _, state = self.encoder_gru(context.transpose(0, 1), state)
        value = context[:, -1:].transpose(0, 1)  # (1, N, C): the last observed value
        outputs = []
        for _ in range(horizon):
            out, state = self.decoder_gru(value, state)
            value = self.linear(out)
            outputs.append(value)
        return torch.cat(outputs).transpose(0, 1)


def load_paper_model(folder: Path) -> PaperSeq2Seq:
    """The network of one ``checkpoints`` folder (``encoder`` and ``decoder`` state dicts)."""
    encoder = torch.load(folder / "encoder", map_location="cpu", weights_only=True)
    decoder = torch.load(folder / "decoder", map_location="cpu", weights_only=True)
    hidden, channels = encoder["encoder_gru.weight_ih_l0"].shape
    model = PaperSeq2Seq(channels, hidden // 3)
    model.load_state_dict({**encoder, **decoder})
    return model.eval()


def score(model: PaperSeq2Seq, contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Scaled errors ``(N, H, C)`` of the model's free-running forecasts, in batches."""
    torch.manual_seed(0)  # the paper's test draws the encoder's initial state from seed 0
    hidden = model.encoder_gru.hidden_size
    errors = []
    for start in range(0, len(contexts), 256):
        context = torch.as_tensor(contexts[start : start + 256], dtype=torch.float32)
        state = torch.randn(1, len(context), hidden)
        forecast = model(context, targets.shape[1], state).numpy()
        errors.append(forecast - targets[start : start + 256])
    return np.concatenate(errors)


def _rescaled(datamodule, config, contexts, targets, length, symmetric):  # type: ignore[no-untyped-def]
    """The windows z-scored with the statistics of a long run of the same generator."""
    from forecastab.data.registry import generator_options, load_dataset

    options = generator_options(config.data.source, config.data.generator or {})
    long, _ = load_dataset(
        config.data.source, {**options, "length": length, "seed": options["seed"] + 1}
    )
    columns = list(datamodule.target_columns)
    mean, std = long[columns].mean().to_numpy(), long[columns].std().to_numpy()
    if symmetric:
        mean, std = np.zeros_like(mean), np.full_like(std, std.mean())
    scaler = datamodule.scaler
    return tuple(
        (scaler.inverse_transform(w) - mean) / std
        for w in (contexts, targets)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the study's YAML file")
    parser.add_argument("results", type=Path, help="the paper repository's results/essential")
    parser.add_argument("system", help="the paper's folder name: thomas or mackeyglass")
    parser.add_argument("--stride", type=int, default=1, help="every k-th test origin")
    parser.add_argument(
        "--long-run-scaling",
        type=int,
        default=0,
        metavar="N",
        help="z-score with the mean and std of N samples of the same generator (data seed + 1), "
        "as the paper z-scores with the statistics of its whole, very long series; 0: the "
        "study's training rows",
    )
    parser.add_argument(
        "--symmetric",
        action="store_true",
        help="with --long-run-scaling: mean 0 and one std for every coordinate (the long run's "
        "mean std), the invariant statistics of an attractor symmetric under x -> -x and "
        "under cycling the coordinates, as Thomas' is",
    )
    args = parser.parse_args(argv)
    config = load_config(args.config)
    datamodule = build_datamodule(config, config.data.horizons[0], seed=0)
    datamodule.setup("test")
    contexts, targets = datamodule.windows("test", stride=args.stride)
    dataset = datamodule.name
    scaling = "the study's training rows"
    if args.long_run_scaling:
        contexts, targets = _rescaled(
            datamodule, config, contexts, targets, args.long_run_scaling, args.symmetric
        )
        scaling = f"{args.long_run_scaling:,} samples of the generator (seed + 1)"
        scaling += ", mean 0 and their mean std for every coordinate" if args.symmetric else ""
    print(
        f"{dataset} ({args.config.name}): {len(contexts)} test windows, context "
        f"{contexts.shape[1]}, horizon {targets.shape[1]}, {targets.shape[2]} coordinate(s), "
        f"z-scored with {scaling}"
    )
    print(
        "| paper's model | as | median NRMSE here | ratio to TF here | paper's number | "
        "median NRMSE at the last step | windows with NRMSE > 1 at the last step |"
    )
    print("|---|---|---|---|---|---|---|")
    reference = None
    for folder, name in STRATEGIES.items():
        checkpoints = args.results / folder / args.system / "checkpoints"
        if not (checkpoints / "encoder").is_file():
            continue
        errors = score(load_paper_model(checkpoints), contexts, targets)
        value = median_nrmse(errors)
        reference = value if name == "teacher_forcing" else reference
        last = np.sqrt(np.mean(np.square(errors[:, -1]), axis=1))  # (N,) NRMSE at step H
        paper = PAPER.get(dataset, {}).get(name)
        ratio = f"{value / reference:.3g}" if reference else "–"
        print(
            f"| {folder} | {name} | {value:.4g} | {ratio} | "
            f"{'–' if paper is None else f'{paper:.4g}'} | {np.median(last):.3g} | "
            f"{np.mean(last > 1):.0%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
