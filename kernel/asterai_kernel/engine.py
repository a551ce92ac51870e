"""The wasmtime Engines of a session: their configuration, which every precompiled (.cwasm) component
depends on, and the Linker that comes with each."""

from __future__ import annotations

from dataclasses import dataclass

import wasmtime
from wasmtime import _bindings
from wasmtime.component import Linker

# wasmtime_strategy_t's Winch: wasmtime-py's Config.strategy refuses "winch"; the C call takes it.
_WINCH = 2


@dataclass(frozen=True)
class EngineConfig:
    """Everything about the Engine that a precompiled (.cwasm) component depends on."""

    epoch_interruption: bool = True  # always on: interrupt and timeouts need it
    consume_fuel: bool = False
    # Winch: machine code 5-10x sooner than Cranelift's, running 3-5x slower (see tiers.py)
    winch: bool = False

    def build(self) -> wasmtime.Engine:
        config = wasmtime.Config()
        config.epoch_interruption = self.epoch_interruption
        config.consume_fuel = self.consume_fuel
        if self.winch:
            _bindings.wasmtime_config_strategy_set(config.ptr(), _WINCH)
        return wasmtime.Engine(config)

    def flags(self) -> list[str]:
        """This configuration as the precompile worker's options."""
        return [*(["--fuel"] if self.consume_fuel else []), *(["--winch"] if self.winch else [])]


@dataclass
class Runtime:
    """An Engine and its Linker. The session has one per engine configuration (fuel on or off)."""

    config: EngineConfig
    engine: wasmtime.Engine
    linker: Linker

    @classmethod
    def create(cls, config: EngineConfig) -> Runtime:
        engine = config.build()
        linker = Linker(engine)
        linker.add_wasip2()
        return cls(config, engine, linker)
