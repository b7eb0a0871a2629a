"""The transformer's free-running evaluation cost at long context: the key/value cache
concatenated at every step (a copy of the whole cache per step) against preallocated buffers
written in place (``TransformerNetwork.buffer_cache``), side by side in one process, one
thread, on the same network and windows; the forecasts are compared for equality.

    python experiments/panel/kv_cache.py --context 336 --horizon 96 --batch 1024
"""

from __future__ import annotations

import argparse
import time

import torch

from forecastab.models import TransformerConfig, build_network
from forecastab.teacher_forcing.rollout import rollout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=int, default=336)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = TransformerConfig(d_model=64, nhead=4, num_layers=2, normalization="revin")
    net = build_network(
        config, context_length=args.context, horizon=args.horizon, n_targets=1
    ).eval()
    context = torch.randn(args.batch, args.context, 1).cumsum(dim=1)
    times, forecasts = {}, {}
    for buffered in (False, True, False, True):  # interleaved: no warm-up advantage
        net.inner.buffer_cache = buffered
        start = time.perf_counter()
        with torch.no_grad():
            for _ in range(args.repeats):
                forecasts[buffered] = rollout(net, context, args.horizon).predictions
        elapsed = (time.perf_counter() - start) / args.repeats
        times[buffered] = min(times.get(buffered, float("inf")), elapsed)
    same = torch.equal(forecasts[False], forecasts[True])
    print(
        f"free-running rollout, context {args.context}, horizon {args.horizon}, "
        f"{args.batch} windows, transformer d64 x2 (revin), 1 thread, best of 2 x {args.repeats}:"
    )
    print(f"  cache concatenated every step: {times[False]:.3f} s")
    print(f"  cache in preallocated buffers: {times[True]:.3f} s ({times[False] / times[True]:.2f}x)")
    print(f"  forecasts identical: {same}")


if __name__ == "__main__":
    main()
