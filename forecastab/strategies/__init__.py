"""Training strategies: how a forecaster turns a batch into a loss.

A strategy decides which values the decoder is fed (always through the one
:func:`~forecastab.teacher_forcing.rollout`, never a copy of it), the loss, any extra module and
optimizer (a discriminator) and any state (a buffer of rollouts). ``ForecastModule`` holds one
as ``module.strategy`` and delegates ``training_step``, ``configure_optimizers``, manual
optimization and its callbacks to it; the strategy's spec is saved in the checkpoint's
hyperparameters, so ``ForecastModule.load_from_checkpoint`` rebuilds it, and its modules and
state (a ``state_dict``) travel in the checkpoint, so a resumed fit continues it exactly.

In YAML a strategy entry is ``{name, method, <method>: {parameters}}``; ``method`` defaults to
``scheduled_sampling``, whose parameters ``teacher_forcing``, ``sampling`` and ``detach`` may
sit at the top of the entry.

How to add a strategy:

1. Write ``forecastab/strategies/<method>.py`` with a typed dataclass config (validate values
   in ``__post_init__``, raising ``ConfigError`` with one line naming the valid choices) and a
   :class:`Strategy` subclass that sets ``method`` and ``config_class`` and implements
   ``training_step(module, batch, batch_idx)`` through ``rollout``. Override
   ``configure_optimizers``, ``callbacks``, ``attach`` (to build extra modules, sized from the
   network), ``on_train_epoch_start`` or ``get_extra_state``/``set_extra_state`` (state that
   must survive a checkpoint) only when the method needs them; set
   ``automatic_optimization = False`` to step several optimizers yourself.
2. Add the class to ``STRATEGIES`` in :mod:`forecastab.strategies.registry`.
3. Add its tests under ``tests/strategies/`` (a semantics test that fails when the method is
   wrong); the contract and resume tests pick every registered method up by themselves.
"""

from forecastab.strategies.base import Strategy
from forecastab.strategies.data_as_demonstrator import DataAsDemonstrator, DataAsDemonstratorConfig
from forecastab.strategies.generalized_teacher_forcing import (
    GeneralizedTeacherForcing,
    GeneralizedTeacherForcingConfig,
)
from forecastab.strategies.multi_step import MultiStep, MultiStepConfig
from forecastab.strategies.noise_injection import NoiseInjection, NoiseInjectionConfig
from forecastab.strategies.professor_forcing import ProfessorForcing, ProfessorForcingConfig
from forecastab.strategies.registry import (
    DEFAULT_METHOD,
    METHODS,
    STRATEGIES,
    strategy_from_spec,
    strategy_keys,
    strategy_label,
)
from forecastab.strategies.reinforce import Reinforce, ReinforceConfig
from forecastab.strategies.scheduled_sampling import ScheduledSampling, ScheduledSamplingConfig

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "STRATEGIES",
    "DataAsDemonstrator",
    "DataAsDemonstratorConfig",
    "GeneralizedTeacherForcing",
    "GeneralizedTeacherForcingConfig",
    "MultiStep",
    "MultiStepConfig",
    "NoiseInjection",
    "NoiseInjectionConfig",
    "ProfessorForcing",
    "ProfessorForcingConfig",
    "Reinforce",
    "ReinforceConfig",
    "ScheduledSampling",
    "ScheduledSamplingConfig",
    "Strategy",
    "strategy_from_spec",
    "strategy_keys",
    "strategy_label",
]
