"""A causal (decoder-only) transformer forecaster with a key/value cache.

The network reads context and generated values as one sequence; the output at position ``t``
predicts the value at ``t + 1``. ``encode`` runs the context (all but its last value) through
the layers and keeps every layer's keys and values; each ``step`` then appends ONE position, so
a free-running forecast costs one new position per step instead of re-encoding the prefix. The
attention block is written out (nanoGPT style) so the cache is explicit.

Without gradients (evaluation, forecasting), the first step moves the cache into preallocated
tensors of ``max_length`` positions (:class:`CacheBuffer`) and every later step writes its one
new key and value in place, instead of concatenating a copy of the whole cache at every step
(quadratic in the sequence length: at context 336 that copy dominated the evaluation). With
gradients (training through the loop) the cache is concatenated as before, since autograd
needs every step's keys and values unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forecastab.errors import ConfigError
from forecastab.models.distributions import Distribution, check_distribution, output_head
from forecastab.models.normalization import check_normalization
from forecastab.teacher_forcing.covariates import Channels

KeyValue = tuple[Tensor, Tensor]
"""One layer's cached keys and values, each ``(B, nhead, T, d_model // nhead)``."""


@dataclass
class CacheBuffer:
    """One layer's keys and values in preallocated tensors ``(B, nhead, capacity, hd)``, of
    which the first ``length`` positions are filled.

    A step writes its positions in place and returns a buffer that shares the tensors, so a
    buffered state must be stepped along one path only (as the rollout does); branch from it
    with :meth:`TransformerNetwork.repeat_state`, which copies.
    """

    keys: Tensor
    values: Tensor
    length: int

    @classmethod
    def holding(cls, past: KeyValue, capacity: int) -> CacheBuffer:
        """A buffer of ``capacity`` positions holding the cached ``(keys, values)``."""
        keys, values = past
        batch, heads, length, width = keys.shape
        buffers = [
            part.new_empty(batch, heads, max(capacity, length), width) for part in (keys, values)
        ]
        for buffer, part in zip(buffers, past, strict=True):
            buffer[:, :, :length] = part
        return cls(buffers[0], buffers[1], length)


@dataclass(kw_only=True)
class TransformerConfig:
    """Hyperparameters of :class:`TransformerNetwork`.

    Attributes:
        d_model: ``D``, width of every position's representation.
        nhead: attention heads; must divide ``d_model``.
        num_layers: transformer blocks.
        dim_feedforward: width of each block's feed-forward layer.
        dropout: dropout on embeddings, attention weights and residual branches.
        max_length: positions the positional embedding covers; None means
            ``context_length + horizon`` of the model it is built for.
        distribution: ``gaussian`` or ``student_t`` for a probabilistic head; None (the
            default) for a point forecast.
        normalization: per-window ``none``, ``last`` or ``revin`` (see
            :mod:`forecastab.models.normalization`).
        revin_affine: learnable affine parameters with ``revin``.
        patch: ``P``, values per position (segment-wise autoregression): every position reads
            a patch of ``P`` rows and predicts the next ``P`` (see
            :class:`~forecastab.models.rnn.RNNConfig`); ``max_length`` then counts patches.
    """

    d_model: int = 64
    nhead: int = 4
    num_layers: int = 2
    dim_feedforward: int = 128
    dropout: float = 0.0
    max_length: int | None = None
    distribution: str | None = None
    normalization: str = "none"
    revin_affine: bool = False
    patch: int = 1

    def __post_init__(self) -> None:
        from forecastab.models.rnn import check_patch

        check_patch(self.patch)
        check_distribution(self.distribution)
        check_normalization(self.normalization, self.revin_affine)
        for key in ("d_model", "nhead", "num_layers", "dim_feedforward"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key} must be a positive integer, got {value!r}")
        if self.d_model % self.nhead:
            raise ConfigError(f"d_model ({self.d_model}) must be divisible by nhead ({self.nhead})")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {self.dropout!r}")
        if self.max_length is not None and (
            not isinstance(self.max_length, int) or self.max_length < 2
        ):
            raise ConfigError(f"max_length must be an integer >= 2, got {self.max_length!r}")


@dataclass
class TransformerState:
    """The decoding state: per-layer key/value cache, its length, the last top hidden state."""

    cache: list[KeyValue] | list[CacheBuffer] | None
    length: int
    last_hidden: Tensor | None = None


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention over the cached positions plus the new ones."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.nhead = config.nhead
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.residual_dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: Tensor, past: KeyValue | CacheBuffer | None
    ) -> tuple[Tensor, KeyValue | CacheBuffer]:
        """Attend from the new positions ``x`` ``(B, T, D)``; return output and extended cache."""
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)  # 3 x (B, T, D)
        q, k, v = (
            t.view(batch, length, self.nhead, width // self.nhead).transpose(1, 2)  # (B, nh, T, hd)
            for t in (q, k, v)
        )
        extended: KeyValue | CacheBuffer
        if isinstance(past, CacheBuffer):
            stop = past.length + length
            if stop > past.keys.shape[2]:
                raise ConfigError(
                    f"sequence of {stop} positions exceeds the key/value buffer of "
                    f"{past.keys.shape[2]}; build the transformer with a larger max_length"
                )
            past.keys[:, :, past.length : stop] = k  # in place: no copy of the cache
            past.values[:, :, past.length : stop] = v
            k, v = past.keys[:, :, :stop], past.values[:, :, :stop]  # (B, nh, P+T, hd) views
            extended = CacheBuffer(past.keys, past.values, stop)
        elif past is not None:
            k = torch.cat([past[0], k], dim=2)  # (B, nh, P+T, hd)
            v = torch.cat([past[1], v], dim=2)  # (B, nh, P+T, hd)
            extended = (k, v)
        else:
            extended = (k, v)
        offset = k.shape[2] - length
        mask = None
        if length > 1 and offset > 0:
            # new position i may see every cached key and the new ones up to itself
            mask = torch.ones(length, k.shape[2], dtype=torch.bool, device=x.device).tril(offset)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            # a single new position may see everything cached: no mask needed
            is_causal=length > 1 and offset == 0,
            dropout_p=self.dropout if self.training else 0.0,
        )  # (B, nh, T, hd)
        y = y.transpose(1, 2).reshape(batch, length, width)  # (B, T, D)
        return self.residual_dropout(self.proj(y)), extended


class Block(nn.Module):
    """Pre-norm transformer block: causal self-attention, then a feed-forward layer."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.norm_attention = nn.LayerNorm(config.d_model)
        self.attention = CausalSelfAttention(config)
        self.norm_feedforward = nn.LayerNorm(config.d_model)
        self.feedforward = nn.Sequential(
            nn.Linear(config.d_model, config.dim_feedforward),
            nn.GELU(),
            nn.Linear(config.dim_feedforward, config.d_model),
            nn.Dropout(config.dropout),
        )

    def forward(
        self, x: Tensor, past: KeyValue | CacheBuffer | None
    ) -> tuple[Tensor, KeyValue | CacheBuffer]:
        attended, cache = self.attention(self.norm_attention(x), past)
        x = x + attended
        return x + self.feedforward(self.norm_feedforward(x)), cache


class TransformerNetwork(nn.Module):
    """Decoder-only transformer over ``[context, generated values]``.

    Args:
        config: the architecture.
        n_targets: ``C``, the number of target columns (input and output width).
        max_length: positions the network can read (context plus horizon, in patches for
            ``config.patch > 1``); overridden by ``config.max_length`` when that is set.
        channels: the covariate channels it reads besides the targets (None: targets only).
            The context prefix (every context row but the last) is embedded from rows of
            ``channels.context_width``, every later position (the decoder inputs, the first of
            them the last context value) from ``channels.decoder_width``.

    >>> net = TransformerNetwork(TransformerConfig(d_model=8, nhead=2), n_targets=1, max_length=20)
    >>> context, targets = torch.zeros(3, 12, 1), torch.zeros(3, 5, 1)
    >>> tuple(net.teacher_forced(context, targets).shape)
    (3, 5, 1)
    """

    autoregressive = True

    buffer_cache = True
    """Without gradients, keep the cache in preallocated buffers (False: concatenate at every
    step, as with gradients; the forecasts are the same, see the module docstring)."""

    def __init__(
        self,
        config: TransformerConfig,
        *,
        n_targets: int,
        max_length: int,
        channels: Channels | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.n_targets = n_targets
        self.channels = channels or Channels(n_targets=n_targets)
        self.patch = config.patch
        # what one position reads and emits: P rows of the channels (the same for P = 1)
        widths = self.channels.patched(self.patch)
        self.widths = widths
        self.max_length = config.max_length or max_length
        self.embed = nn.Linear(widths.decoder_width, config.d_model)
        # without covariates context rows and decoder inputs are alike: one embedding
        self.embed_context = (
            nn.Linear(widths.context_width, config.d_model)
            if self.channels.has_covariates
            else None
        )
        self.position = nn.Embedding(self.max_length, config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.norm = nn.LayerNorm(config.d_model)
        # (..., C) point forecasts, or (..., C, P) distribution parameters
        self.head = output_head(config.d_model, widths.n_targets, config.distribution)

    @property
    def distribution(self) -> Distribution | None:
        """The head's distribution family, or None for a point forecast."""
        return getattr(self.head, "distribution", None)

    def _layers(
        self,
        x: Tensor,
        cache: list[KeyValue] | list[CacheBuffer] | None,
        start: int,
        *,
        prefix: Tensor | None = None,
    ) -> tuple[Tensor, list[KeyValue] | list[CacheBuffer]]:
        """Positions ``start .. start+T-1`` ``(B, T, C)`` -> top hidden ``(B, T, D)``, new cache.

        ``prefix`` ``(B, P, C+Kp+Kf+S)``: context rows placed before ``x`` (embedded with the
        context embedding), so that one pass covers the context prefix and decoder inputs.
        """
        if prefix is None:
            embedded = self.embed(x)  # (B, T, D)
        elif self.embed_context is None:
            embedded = self.embed(torch.cat([prefix, x], dim=1))  # (B, P+T, D)
        else:
            embedded = torch.cat([self.embed_context(prefix), self.embed(x)], dim=1)  # (B, P+T, D)
        stop = start + embedded.shape[1]
        if stop > self.max_length:
            raise ConfigError(
                f"sequence of {stop} positions exceeds the transformer's max_length "
                f"{self.max_length}; build it with a larger TransformerConfig.max_length"
            )
        positions = torch.arange(start, stop, device=x.device)
        h = self.dropout(embedded + self.position(positions))  # (B, T, D)
        new_cache = []
        for i, block in enumerate(self.blocks):
            h, layer_cache = block(h, None if cache is None else cache[i])
            new_cache.append(layer_cache)
        return self.norm(h), new_cache

    def forward(self, sequence: Tensor) -> Tensor:
        """One causal pass over ``(B, T, C)``: output ``t`` ``(B, T, C)`` predicts value ``t + 1``."""
        hidden, _ = self._layers(sequence, None, 0)
        return self.head(hidden)

    def encode(self, context: Tensor) -> TransformerState:
        """Fill the key/value cache with the context ``(B, L, C)`` except its last value.

        The last context value is the first decoder input: the first :meth:`step` appends it,
        and its output predicts the first horizon value.
        """
        prefix = context[:, :-1]  # (B, L-1, C)
        if prefix.shape[1] == 0:
            return TransformerState(cache=None, length=0)
        _, cache = self._layers(prefix[:, :0, : self.widths.decoder_width], None, 0, prefix=prefix)
        return TransformerState(cache=cache, length=prefix.shape[1])

    @staticmethod
    def repeat_state(state: TransformerState, repeats: int) -> TransformerState:
        """Each window's cache ``repeats`` times in a row, as if each context had been repeated
        before :meth:`encode`."""
        cache = None if state.cache is None else [
            CacheBuffer(
                layer.keys.repeat_interleave(repeats, dim=0),
                layer.values.repeat_interleave(repeats, dim=0),
                layer.length,
            )
            if isinstance(layer, CacheBuffer)
            else (layer[0].repeat_interleave(repeats, dim=0),
                  layer[1].repeat_interleave(repeats, dim=0))
            for layer in state.cache  # (B, nh, T, hd) each
        ]
        last = None if state.last_hidden is None else state.last_hidden.repeat_interleave(
            repeats, dim=0
        )
        return TransformerState(cache, state.length, last)

    def step(self, x_prev: Tensor, state: TransformerState) -> tuple[Tensor, TransformerState]:
        """Append one position ``(B, C)``; return its prediction ``(B, C)`` and the new state.

        A probabilistic network predicts distribution parameters ``(B, C, P)`` instead.
        Without gradients the cache moves into preallocated buffers (see the module docstring).
        """
        past = state.cache
        buffered = self.buffer_cache and not torch.is_grad_enabled()
        if past is not None and buffered and isinstance(past[0], tuple):
            past = [CacheBuffer.holding(layer, self.max_length) for layer in past]
        hidden, cache = self._layers(x_prev.unsqueeze(1), past, state.length)  # (B, 1, D)
        top = hidden[:, 0]  # (B, D)
        return self.head(top), TransformerState(cache, state.length + 1, top)

    def hidden(self, state: TransformerState) -> Tensor:
        """The top-layer representation ``(B, D)`` of the last appended position."""
        if state.last_hidden is None:
            raise ValueError("no decoder step has run yet: call step() before hidden()")
        return state.last_hidden

    def teacher_forced(
        self,
        context: Tensor,
        targets: Tensor,
        *,
        return_hidden: bool = False,
        inputs: Tensor | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """All ``H`` one-step-ahead predictions ``(B, H, C)`` in one causal pass.

        Args:
            context: ``(B, L, C)`` the observed past (context rows with covariates).
            targets: ``(B, H, C)``; ``targets[:, h]`` is the input of step ``h + 1`` (the last
                row is never an input).
            return_hidden: also return the top hidden states ``(B, H, D)``.
            inputs: the decoder inputs ``(B, H, C+Kf+S)`` when the network reads covariates;
                None shifts the targets behind the last context value.
        """
        if inputs is None:
            inputs = torch.cat([context[:, -1:], targets[:, :-1]], dim=1)  # (B, H, C)
        hidden, _ = self._layers(inputs, None, 0, prefix=context[:, :-1])  # (B, L+H-1, D)
        hidden = hidden[:, context.shape[1] - 1 :]  # (B, H, D)
        predictions = self.head(hidden)  # (B, H, C) or (B, H, C, P)
        return (predictions, hidden) if return_hidden else predictions
