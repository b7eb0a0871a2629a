"""Forecasting networks (plain ``nn.Module``) and the Lightning wrapper that trains them.

Networks: :class:`RNNNetwork` (GRU/LSTM encoder-decoder), :class:`TransformerNetwork` (causal,
key/value cache), :class:`DirectNetwork` (all steps at once, the no-feedback control). Each has a
config dataclass; ``NETWORK_CONFIGS`` maps a YAML ``type:`` to it. :class:`ForecastModule` is the
forecaster users fit and evaluate; :func:`model_from_spec` builds one from a YAML model entry.
"""

from forecastab.models.direct import DirectConfig, DirectNetwork
from forecastab.models.lightning import (
    NETWORK_CONFIGS,
    ForecastModule,
    build_network,
    model_from_spec,
    network_type,
)
from forecastab.models.rnn import RNNConfig, RNNNetwork
from forecastab.models.transformer import TransformerConfig, TransformerNetwork
from forecastab.quiet import quiet_lightning

quiet_lightning()

__all__ = [
    "NETWORK_CONFIGS",
    "DirectConfig",
    "DirectNetwork",
    "ForecastModule",
    "RNNConfig",
    "RNNNetwork",
    "TransformerConfig",
    "TransformerNetwork",
    "build_network",
    "model_from_spec",
    "network_type",
]
