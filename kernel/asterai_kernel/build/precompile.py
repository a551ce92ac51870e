"""Compile a component to machine code (.cwasm) in a worker process.

Cranelift on an 18 MB component takes seconds and grows the process by hundreds of MB that are never given
back; doing it here keeps the kernel small. The Engine config must match the session's (see EngineConfig),
or the .cwasm will not load.

    python -m asterai_kernel.build.precompile COMPONENT.wasm OUT.cwasm [--fuel] [--winch]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wasmtime.component import Component

from ..build.cache import write_atomic
from ..engine import EngineConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asterai-precompile")
    parser.add_argument("wasm", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--fuel", action="store_true")
    parser.add_argument("--winch", action="store_true")
    args = parser.parse_args(argv)
    engine = EngineConfig(consume_fuel=args.fuel, winch=args.winch).build()
    component = Component(engine, args.wasm.read_bytes())
    write_atomic(args.out, component.serialize())
    return 0


if __name__ == "__main__":
    sys.exit(main())
