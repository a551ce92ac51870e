"""Exact versions the kernel builds and runs with, each written once (the cache keys include them)."""

from __future__ import annotations

# The fast call path reads wasmtime-py's internals: upgrade deliberately, with the layout checks passing.
WASMTIME_VERSION = "51.0.0"

# npm packages: (name, version)
JCO = ("@bytecodealliance/jco", "1.35.0")  # also ships the WASI preview1 reactor adapter Go cells use
COMPONENTIZE_JS = ("@bytecodealliance/componentize-js", "0.23.0")
PREVIEW2_SHIM = ("@bytecodealliance/preview2-shim", "0.25.0")
COMPONENTIZE_QJS = ("componentize-qjs", "0.4.5")  # the QuickJS engine asterai builds JS/TS cells with
ESBUILD = ("esbuild", "0.28.2")  # strips TypeScript's types and bundles --npm packages

# PyPI packages: (name, version)
# Zig changes its language and std between releases: the Zig glue and runtime are written for this one
ZIGLANG = ("ziglang", "0.17.1")
