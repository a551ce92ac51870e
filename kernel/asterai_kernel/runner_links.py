"""`--use` for cells on a shared interpreter: the kernel serves the runner's `host.call` import.

A consumer's glue calls `host.call(provider, index, args)` with the arguments as plain data (plain.py, in
the interpreter's encoding). Here they are checked against the provider's WIT as strictly as a guest's
results (plain.loader); the provider's live instance is then called as the notebook calls it
(`call_checked`: its own grants, limits and restart on a trap), and the result goes back as plain data.

As in links.py, the provider is looked up by name on every call, so a re-run provider serves its
consumers at once, and one whose interface changed is refused with the same message. A trap in the
provider restarts the provider (call_checked does) and traps the consumer, whose error names the
provider's function (session.nested_traps). Arguments the provider's types refuse are no trap: the
consumer's call raises the Python error (TypeError, OverflowError...) at the cell's line.
"""

from __future__ import annotations

from wasmtime.component import Linker

from . import plain, values, wit
from .errors import AsteraiError, ComponentError, Timeout
from .hostfns import PROVIDERS
from .interpreted import HOST_INTERFACE
from .links import Forwarder, NestedTrap, _add_func, new_error
from .names import snake_name
from .values import VAL

_HOST_CALL = wit.Function("call", (("component", wit.String()), ("index", wit.Prim("u32")),
                                   ("args", wit.String())), wit.String())  # fmt: skip
(((_COMPONENT, _INDEX, _ARGS), _ANSWER),) = values.codecs_for((_HOST_CALL,), {})


def why_not_provider(name: str, iface: wit.Interface) -> str | None:
    """Why a cell on a runner cannot use `name` through `host.call` (None when it can): resources do not
    cross as plain data, a provider's module defines only its own types, and functions the notebook's Python
    provides are no live instance."""
    if name in PROVIDERS:
        return f"--use {name}: functions the notebook's Python provides (@provide)"
    for ty in iface.types():
        if isinstance(ty, (wit.Resource, wit.Handle)):
            return f"--use {name}: {name} exports resources"
        if getattr(ty, "owner", "") not in ("", iface.name):
            return f"--use {name}: {name}'s exports use the types of component {ty.owner}"
    return None


def runner_linker(runtime, session, consumer: str, uses: dict[str, wit.Interface], interp) -> Linker:
    """WASI and the runner's `host.call`, serving the consumer's calls to the components in `uses`."""
    linker = Linker(runtime.engine)
    linker.add_wasip2()
    with linker.root() as root, root.add_instance(HOST_INTERFACE) as instance:
        _add_func(instance, "call", HostCall(session, consumer, uses, interp))
    return linker


class HostCall:
    """The host function behind one runner instance's `host.call` (C values in and out, see links.py)."""

    def __init__(self, session, consumer: str, uses: dict[str, wit.Interface], interp) -> None:
        self.session, self.consumer = session, consumer
        self.routes = {(provider, index): PlainForwarder(session, consumer, provider, fn, interp)
                       for provider, iface in uses.items()
                       for index, fn in enumerate(iface.functions)}  # fmt: skip

    def __call__(self, args, nargs: int, results, nresults: int) -> int:
        slots = (VAL * 3).from_address(args)
        provider, index = _COMPONENT.read(slots[0]), _INDEX.read(slots[1])
        route = self.routes.get((provider, index))
        if route is None:  # the glue asks for what the cell was not built with: it was tampered with
            message = f"{self.consumer} called function {index} of {provider!r}, which it does not use"
            self.session.nested_traps.append(NestedTrap(None, "call", message, message, False, False))
            return new_error(message)
        answer = route.call_plain(_ARGS.read(slots[2]))
        if isinstance(answer, int):
            return answer  # a wasmtime error: traps the consumer
        _ANSWER.write(answer.encode(), VAL.from_address(results))
        return 0


class PlainForwarder(Forwarder):
    """One function of a provider, as a runner cell calls it: plain data in, plain data out."""

    def __init__(self, session, consumer: str, provider: str, fn: wit.Function, interp) -> None:
        super().__init__(session, consumer, provider, fn)
        self.interp = interp
        self.name = snake_name(fn.name)
        self._plain = None  # (provider instance, its argument loaders, result dumper)

    def call_plain(self, text: str) -> str | int:
        """The encoded answer, or a wasmtime error (after noting why in session.nested_traps)."""
        live, export, error = self._target()
        if error:
            return error
        try:
            lowered = self._arguments(live, export, self.interp.decode_args(text))
        except values.BadValue as e:
            error = e.error(f"{self.provider}.{self.name}(): ")
            return self.interp.encode_answer(None, (type(error).__name__, str(error)))
        except (ValueError, RecursionError) as e:
            return self._fail(f"{self.consumer} sent arguments that are not values ({type(e).__name__}: {e})")
        try:
            value = self._result(live, lowered)
        except KeyboardInterrupt:
            self.session.interrupt_pending = True  # the consumer's call ends as interrupted too
            return self._fail(f"{self.provider}.{self.name} was interrupted")
        except AsteraiError as e:  # a trap: call_checked restarted the provider already
            message = f"{self.provider}.{self.name} trapped: {getattr(e, 'guest_message', str(e))}"
            trap = NestedTrap(None, self.name, message, str(e), isinstance(e, Timeout), False)
            self.session.nested_traps.append(trap)
            return new_error(message)
        return self.interp.encode_answer(value, None)

    def _arguments(self, live, export, data) -> list:
        """The provider's checked arguments, from the consumer's plain data (raises BadValue)."""
        loads, _ = self._codecs(live, export)
        if not isinstance(data, list) or len(data) != len(loads):
            raise values.BadValue(TypeError, f"takes {len(loads)} argument(s), got {data!r:.60}")
        out = []
        for (name, _), (load, codec), x in zip(self.fn.params, loads, data):
            try:
                out.append(codec.check(load(x)))
            except values.BadValue as e:
                raise e.at(f"parameter {snake_name(name)!r}") from None
        return out

    def _result(self, live, lowered: list):
        """The provider's result as plain data; a top-level result as (is_ok, value)."""
        _, dump = self._codecs(live, None)
        try:
            value = live.call_checked(self.fn.name, lowered)
        except ComponentError as e:
            return dump(values.Err(e.value))
        top = isinstance(self.fn.result, wit.Result)
        return dump(values.Ok(value) if top else value)

    def _codecs(self, live, export):
        if self._plain is None or self._plain[0] is not live:
            export = export or live.exports[self.fn.name]
            loads = [(plain.loader(c), c) for c in export.params]
            result = export.result
            dump = (lambda v: None) if result is None else _dumper(result)
            self._plain = (live, loads, dump)
        return self._plain[1], self._plain[2]


def _dumper(codec: values.Codec):
    """A result value (the contract's) as plain data: checked as an argument would be, then dumped."""
    dump = plain.dumper(codec)
    return (lambda v: codec.check(v)) if dump is None else (lambda v: dump(codec.check(v)))
