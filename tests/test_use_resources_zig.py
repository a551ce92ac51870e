"""Zig cells use a provider's resources (`--use`): `py_bank.Account` is a struct holding its handle, made
with `Account.init(..)`, used through its methods and statics, and dropped with `deinit()`, whichever
language the provider is in (test_use_resources.py has the providers and the checks every consumer passes)."""

from __future__ import annotations

import pytest
from test_use_resources import _common, _kept_across_calls

from asterai_kernel import CompileError, GuestTrap, links, resources

ZIG_USER = """const std = @import("std");
const {P} = @import("{P}");
const Account = {P}.Account;

pub fn total(n: i64) i64 {
    const a = Account.init(n); // the constructor runs in {P}
    defer a.deinit(); // drops it there
    return a.deposit(1) + a.get(); // methods borrow it
}

pub fn copied(n: i64) i64 {
    const a = Account.init(n);
    defer a.deinit();
    const b = Account.copy(a); // a static function, an own handle back
    defer b.deinit();
    return b.deposit(100) + a.get();
}

pub fn liveInside() i64 {
    const a = {P}.opened(1);
    defer a.deinit();
    return {P}.live(); // `a` is still held here
}

pub fn maybeSum(n: i64) i64 {
    const a = {P}.maybe(n) orelse return -1;
    defer a.deinit();
    return a.get();
}

pub fn overdraw(n: i64) i64 {
    const a = Account.init(n);
    defer a.deinit();
    return a.deposit(-1);
}

var kept: std.ArrayList(Account) = .empty; // kept between calls: allocated outside the call's arena

pub fn keep(n: i64) u32 {
    kept.append(std.heap.wasm_allocator, Account.init(n)) catch @panic("out of memory");
    return @intCast(kept.items.len);
}

pub fn keptBalance() i64 {
    return kept.items[kept.items.len - 1].get();
}

pub fn forget() i64 {
    for (kept.items) |a| a.deinit();
    kept.clearRetainingCapacity();
    return {P}.live();
}
"""

ZIG_USER_PY_ONLY = """
pub fn many() i64 {
    var sum: i64 = 0;
    for (py_bank.openedMany(&.{ 1, 2, 3 })) |a| { // a slice of objects, each one owned
        sum += a.get();
        a.deinit();
    }
    return sum;
}

pub fn named(n: i64) i64 {
    const savings = py_bank.labelled("savings", n);
    _ = savings.account.deposit(1);
    return py_bank.balanceOf(savings); // moves the record's account to py_bank: no deinit
}

pub fn richer(n: i64) i64 {
    const a, const b = .{ Account.init(n), Account.init(n + 5) };
    defer a.deinit();
    defer b.deinit();
    return py_bank.richest(a, b); // both lent
}

pub fn richerThan(n: i64) bool {
    const a, const b = .{ Account.init(n), Account.init(n + 5) };
    defer a.deinit();
    defer b.deinit();
    return b.richerThan(a);
}
"""


@pytest.mark.parametrize("provider", ["py_bank", "rs_bank"])
def test_a_zig_cell_uses_a_providers_resource(cell, providers, provider):
    user = f"zig_user_of_{provider}"
    source = ZIG_USER.replace("{P}", provider) + (ZIG_USER_PY_ONLY if provider == "py_bank" else "")
    cell(f"zig {user} --use {provider}", source)
    h = providers[user]
    _common(h, providers[provider], provider == "rs_bank")
    if provider == "py_bank":
        assert h.many() == 6  # a slice of handles, each deinit'ed
        assert h.named(40) == 41  # a handle inside a record, received and given back
        assert h.richer(1) == 6 and h.richer_than(1) is True  # two objects lent in one call
        assert not resources._HOST_OBJECTS and not links._HELD.get(id(h._live.store))
    _kept_across_calls(cell, h, providers[provider], provider)


def test_a_providers_trap_is_the_zig_consumers_guest_trap(cell, providers):
    cell(
        "zig zig_overdrawer --use rs_bank",
        'const rs_bank = @import("rs_bank");\n\npub fn overdraw() i64 {\n'
        "    const a = rs_bank.Account.init(1);\n    defer a.deinit();\n    return a.deposit(-1);\n}\n",
    )
    with pytest.raises(GuestTrap, match=r"rs_bank.*trapped.*a deposit cannot be negative"):
        providers["zig_overdrawer"].overdraw()
    assert providers["rs_bank"].live() == 0  # the provider restarted: no object of the call is left


def test_a_zig_cells_own_functions_cannot_take_the_resource_yet(cell, providers):
    source = 'const rs_bank = @import("rs_bank");\n\npub fn peek(a: rs_bank.Account) i64 {\n    return a.get();\n}\n'
    with pytest.raises(CompileError, match=r"line 4: `pub fn peek`: parameter `a`.*it is or holds rs_bank's resource `account`, which "
                                           r"this cell can make and use inside its functions but not yet take"):  # fmt: skip
        cell("zig zig_resource_exporter --use rs_bank", source)


# An example for the tutorial: a Zig cell keeping py_bank's accounts between calls
TUTORIAL = """const std = @import("std");
const py_bank = @import("py_bank");
const Account = py_bank.Account; // a struct holding a handle to py_bank's object

var accounts: std.ArrayList(Account) = .empty; // kept across calls

pub fn open(start: i64) u32 {
    const a = Account.init(start); // py_bank's constructor
    accounts.append(std.heap.wasm_allocator, a) catch @panic("out of memory");
    return @intCast(accounts.items.len - 1);
}

pub fn deposit(which: u32, amount: i64) i64 {
    return accounts.items[which].deposit(amount); // a method: the object is lent
}

pub fn closeAll() i64 {
    for (accounts.items) |a| a.deinit(); // drops each account in py_bank
    accounts.clearRetainingCapacity();
    return py_bank.live();
}
"""


def test_the_tutorial_zig_cell(cell, providers):
    cell("zig zig_teller --use py_bank", TUTORIAL)
    h = providers["zig_teller"]
    assert h.open(10) == 0 and h.open(20) == 1
    assert h.deposit(1, 5) == 25 and h.deposit(0, 1) == 11
    assert len(resources._HOST_OBJECTS) == 2
    h.close_all()
    assert not resources._HOST_OBJECTS


EDGE_PY = """
class Counter:
    def __init__(self, n: int):
        self.n = n

    def init(self) -> int:
        return self.n

    def handle(self) -> int:
        return 7

    def live(self, deinit: int) -> int:
        return deinit + self.n


def live() -> int:
    return 0


def consume_all(cs: list[Counter]) -> int:
    return sum(c.n for c in cs)
"""

EDGE_ZIG = """const py_edge = @import("py_edge");
const Counter = py_edge.Counter;

pub fn named() i64 {
    const c = Counter.init(5);
    defer c.deinit();
    return c.init_() + c.handle_() + c.live(1) + py_edge.live(); // the struct's own names get a `_`
}

pub fn moved() i64 {
    const counters = [_]Counter{ Counter.init(1), Counter.init(2) };
    return py_edge.consumeAll(&counters); // a list<own<counter>>: both moved to py_edge; no deinit here
}
"""


def test_own_parameters_move_the_object_and_member_names_stay_apart(cell, ns):
    cell("python py_edge", EDGE_PY)
    cell("zig zig_edge --use py_edge", EDGE_ZIG)
    h = ns["zig_edge"]
    assert h.named() == 5 + 7 + 6 + 0
    assert h.moved() == 3
    assert not resources._HOST_OBJECTS  # the moved objects are py_edge's: the consumer holds no handle


def test_a_typescript_providers_resource_crosses_to_zig(cell, ns):
    from test_cell_resources import ACCOUNTS_TS

    cell("typescript ts_bank", ACCOUNTS_TS)
    cell(
        "zig zig_user_of_ts --use ts_bank",
        'const ts_bank = @import("ts_bank");\n\npub fn total(n: f64) f64 {\n'
        "    const a = ts_bank.Account.init(n);\n    defer a.deinit();\n    const b = ts_bank.opened(0.5);\n"
        "    defer b.deinit();\n    return a.deposit(1.0) + b.get();\n}\n",
    )
    assert ns["zig_user_of_ts"].total(2.5) == 4.0
    assert not resources._HOST_OBJECTS
