"""One small network of every kind (and a probabilistic one), for tests run over all of them."""

from __future__ import annotations

NETWORK_SPECS = {
    "gru": {"type": "rnn", "cell": "gru", "hidden_size": 8},
    "lstm": {"type": "rnn", "cell": "lstm", "hidden_size": 8},
    "transformer": {"type": "transformer", "d_model": 8, "nhead": 2, "num_layers": 1},
    "direct": {"type": "direct", "hidden_size": 8},
    "nlinear": {"type": "linear", "variant": "nlinear"},
    "dlinear": {"type": "linear", "variant": "dlinear", "kernel_size": 5},
    "gru_revin_gaussian": {
        "type": "rnn", "hidden_size": 8, "normalization": "revin", "distribution": "gaussian"
    },
}
