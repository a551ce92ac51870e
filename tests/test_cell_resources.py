"""Resources exported by cells (a Python class with a typed `__init__`, a Rust struct with an `impl` holding
`pub fn new`), used from Python as a class on the component's handle (the same classes as for components
loaded from elsewhere)."""

from __future__ import annotations

import gc

import pytest

from asterai_kernel import CompileError, GuestTrap

ACCOUNTS_PY = '''
from dataclasses import dataclass


class Account:
    """A bank account."""

    def __init__(self, start: int):
        self.balance = start

    def deposit(self, amount: int) -> int:
        if amount < 0:
            raise ValueError("a deposit cannot be negative")
        self.balance += amount
        return self.balance

    def get(self) -> int:
        return self.balance

    @staticmethod
    def merge(a: "Account", b: "Account") -> "Account":
        return Account(a.balance + b.balance)


def richest(a: Account, b: Account) -> int:
    return max(a.balance, b.balance)


def opened(start: int) -> Account:
    return Account(start)


@dataclass
class Named:
    name: str
    account: Account


def opened_many(starts: list[int]) -> list[Account]:
    return [Account(s) for s in starts]


def labelled(name: str, start: int) -> Named:
    return Named(name, Account(start))


def maybe(start: int) -> Account | None:
    return Account(start) if start > 0 else None
'''


def test_a_python_cell_exports_a_resource(cell, ns):
    out = cell("python accounts", ACCOUNTS_PY)
    assert (
        "class Account (resource account)" in out and "richest(a: borrow<account>, b: borrow<account>)" in out
    )
    h = ns["accounts"]
    a = h.Account(10)  # the constructor runs in the guest: the object lives there
    assert a.deposit(5) == 15 and a.get() == 15
    b = h.opened(7)  # an owned handle returned by a function
    assert h.richest(a, b) == 15  # both lent
    merged = h.Account.merge(a, b)  # a static function
    assert merged.get() == 22 and a.get() == 15
    merged.close()  # the guest is told to drop it
    with pytest.raises(ValueError, match=r"parameter 'self' \(Account\) was closed"):
        merged.get()
    del b
    gc.collect()  # dropped when Python lets it go
    with pytest.raises(GuestTrap, match="a deposit cannot be negative"):
        a.deposit(-1)
    with pytest.raises(ValueError, match="before it restarted"):
        a.get()  # the trap restarted the component: its objects are gone
    assert h.Account(1).get() == 1


def test_resources_inside_lists_records_and_options(cell, ns):
    cell("python accounts", ACCOUNTS_PY)
    h = ns["accounts"]
    many = h.opened_many([1, 2, 3])
    assert [a.get() for a in many] == [1, 2, 3] and all(isinstance(a, h.Account) for a in many)
    n = h.labelled("savings", 40)
    assert n.name == "savings" and n.account.deposit(2) == 42
    assert h.maybe(5).get() == 5 and h.maybe(0) is None


ACCOUNTS_RS = """
use std::sync::atomic::{AtomicU32, Ordering};
static DROPPED: AtomicU32 = AtomicU32::new(0);

/// A bank account.
pub struct Account { balance: i64 }

impl Account {
    pub fn new(start: i64) -> Self { Account { balance: start } }
    pub fn deposit(&mut self, amount: i64) -> i64 {
        assert!(amount >= 0, "a deposit cannot be negative");
        self.balance += amount;
        self.balance
    }
    pub fn get(&self) -> i64 { self.balance }
    pub fn merge(a: &Account, b: &Self) -> Account { Account { balance: a.balance + b.balance } }
}

impl Drop for Account {
    fn drop(&mut self) { DROPPED.fetch_add(1, Ordering::Relaxed); }
}

pub fn richest(a: &Account, b: &Account) -> i64 { a.balance.max(b.balance) }
pub fn opened(start: i64) -> Account { Account::new(start) }
pub fn dropped() -> u32 { DROPPED.load(Ordering::Relaxed) }
"""


def test_a_rust_cell_exports_a_resource(cell, ns):
    out = cell("rust rs_accounts", ACCOUNTS_RS)
    assert "class Account (resource account)" in out and "opened(start: s64) -> account" in out
    h = ns["rs_accounts"]
    a = h.Account(10)  # Account::new in the guest, boxed; the handle names the box
    assert a.deposit(5) == 15 and a.get() == 15  # &mut self, then &self
    b = h.opened(7)
    assert h.richest(a, b) == 15 and h.Account.merge(a, b).get() == 22  # borrows; a static function
    gc.collect()  # the merged account nobody kept: dropped, the user's Drop ran
    assert h.dropped() == 1
    b.close()
    assert h.dropped() == 2
    with pytest.raises(GuestTrap, match="a deposit cannot be negative"):
        a.deposit(-1)
    with pytest.raises(ValueError, match="before it restarted"):
        a.get()


def test_a_rust_resource_taken_by_value_is_refused_clearly(cell):
    source = "pub struct C { n: u32 }\nimpl C {\n    pub fn new() -> Self { C { n: 0 } }\n}\npub fn eat(c: C) -> u32 { c.n }\n"
    with pytest.raises(CompileError, match=r"`C` by value \(take `&C`: a resource is lent\)"):
        cell("rust rs_bad_resource", source)


ACCOUNTS_TS = """
/** A bank account. */
export class Account {
  balance: number;
  constructor(start: number) { this.balance = start; }
  deposit(amount: number): number {
    if (amount < 0) throw new Error("a deposit cannot be negative");
    this.balance += amount;
    return this.balance;
  }
  get(): number { return this.balance; }
  static merge(a: Account, b: Account): Account { return new Account(a.balance + b.balance); }
}

export function richest(a: Account, b: Account): number { return Math.max(a.balance, b.balance); }
export function opened(start: number): Account { return new Account(start); }
"""


def test_a_typescript_cell_exports_a_resource(cell, ns):
    out = cell("typescript ts_accounts", ACCOUNTS_TS)
    assert "class Account (resource account)" in out and "opened(start: f64) -> account" in out
    h = ns["ts_accounts"]
    a = h.Account(10)  # `new Account(10)` in the guest
    assert a.deposit(5) == 15.0 and a.get() == 15.0
    b = h.opened(7)
    assert h.richest(a, b) == 15.0 and h.Account.merge(a, b).get() == 22.0
    b.close()
    with pytest.raises(ValueError, match="was closed"):
        b.get()
    with pytest.raises(GuestTrap, match="a deposit cannot be negative"):
        a.deposit(-1)
    with pytest.raises(ValueError, match="before it restarted"):
        a.get()


# A class whose constructor, methods and static functions take and return what exported functions convert:
# 64-bit integers (bigint in the cell), options (undefined), records, flags. `of` makes an object in the cell's
# own code: the engine still calls its methods with conversions.
LEDGER_TS = """
export enum Perms { Read = 1 << 0, Write = 1 << 1 }
export interface Summary { owner: string | undefined; cents: u64; perms: Perms }

const big = (what: string, v: unknown): bigint => {
  if (typeof v !== "bigint") throw new TypeError(`${what} is a ${typeof v}, not a bigint`);
  return v;
};

/** An account in cents. */
export class Ledger {
  #cents: bigint;
  owner?: string;
  perms: Perms = Perms.Read;
  constructor(start: u64, owner: string | undefined) {
    this.#cents = big("start", start);
    this.owner = owner;
  }
  add(delta: s64): u64 {
    if (delta === 13n) throw new Error("unlucky delta");
    this.#cents += big("delta", delta);
    return this.#cents;
  }
  rename(owner?: string): string | undefined {
    const old = this.owner;
    this.owner = owner;
    return old;
  }
  grant(p: Perms): Perms { return (this.perms |= p); }
  summary(): Summary { return { owner: this.owner, cents: this.#cents, perms: this.perms }; }
  same(other: Ledger): boolean { return other === this && other instanceof Ledger; }
  static of(cents: u64): Ledger { return new Ledger(cents + 1n, "made"); }
  static twice(l: Ledger): u64 { return l.add(0n) * 2n; }
  add_one(x: u32): u32 { return x + 1; }
}

export function isLedger(l: Ledger): boolean { return l instanceof Ledger; }
"""


@pytest.mark.parametrize("engine", ["quickjs", "starlingmonkey"])
def test_a_typescript_class_converts_like_exported_functions(cell, ns, monkeypatch, engine):
    monkeypatch.setenv("ASTERAI_JS_ENGINE", engine)
    out = cell(f"ts ts_ledger_{engine}", LEDGER_TS)
    assert "class Ledger (resource ledger)" in out, out
    h = ns[f"ts_ledger_{engine}"]
    a = h.Ledger(5, "ann")
    assert a.add(-2) == 3 and a.add(2**40) == 2**40 + 3
    assert a.rename(None) == "ann" and a.rename("bob") is None and a.rename(None) == "bob"
    assert a.summary() == h.Summary(owner=None, cents=2**40 + 3, perms=h.Perms.read)
    assert a.grant(["write"]) == h.Perms.read | h.Perms.write
    assert a.same(a) and not a.same(h.Ledger(0, None))
    b = h.Ledger.of(9)  # made by the cell's code, not by the engine's `new`
    assert b.add(1) == 11 and b.summary().owner == "made" and h.Ledger.twice(b) == 22
    assert h.is_ledger(a) and h.is_ledger(b)
    assert a.add_one(1) == 2  # (the engine's name for it is addOne)
    with pytest.raises(GuestTrap, match=r"Error: unlucky delta\n\s+at add \(line 21\)"):
        a.add(13)


def test_a_typescript_class_carries_64_bit_integers_as_exported_functions_do(cell, ns, monkeypatch):
    """QuickJS: exact to 2^53 - 1, beyond refused before the call; StarlingMonkey: exact over the range."""
    cell("ts ts_ledger_quickjs", LEDGER_TS)
    with pytest.raises(OverflowError, match=r"parameter 'start' = 9007199254740993 is out of range for u64"):
        ns["ts_ledger_quickjs"].Ledger(2**53 + 1, None)
    monkeypatch.setenv("ASTERAI_JS_ENGINE", "starlingmonkey")
    cell("ts ts_ledger_starlingmonkey", LEDGER_TS)
    h = ns["ts_ledger_starlingmonkey"]
    a = h.Ledger(2**64 - 3, None)
    assert a.add(1) == 2**64 - 2 and a.add(-(2**60) - 1) == 2**64 - 2**60 - 3
    assert h.Ledger.of(2**53).add(2**53) == 2**54 + 1
    assert h.Ledger.twice(h.Ledger(2**62 + 1, None)) == 2**63 + 2
    with pytest.raises(GuestTrap, match=r"RangeError: cannot return -1n as u64"):
        h.Ledger(0, None).add(-1)


@pytest.mark.no_toolchain
def test_a_rust_struct_of_public_fields_stays_a_record_whatever_its_impl():
    """Plain data (every field `pub`) is a record even with a `new`; private state makes a resource."""
    from asterai_kernel import wit
    from asterai_kernel.languages import get_language

    source = (
        "pub struct Point { pub x: f64, pub y: f64 }\n"
        "impl Point { pub fn new(x: f64, y: f64) -> Self { Point { x, y } } }\n"
        "pub struct Tally { words: u32 }\n"
        "impl Tally { pub fn new() -> Self { Tally { words: 0 } } }\n"
        "pub fn mid(a: Point, b: Point) -> Point { Point::new((a.x + b.x) / 2.0, (a.y + b.y) / 2.0) }\n"
    )
    functions = {f.name: f for f in get_language("rust").interface(source, "shapes").functions}
    assert set(functions) == {"mid", "[constructor]tally"}
    assert isinstance(functions["mid"].result, wit.Record)


def test_a_python_cell_exporting_only_a_resource(cell, ns):
    """No function besides the class's: the interface's own class in the generated app module is empty."""
    source = "class Counter:\n    def __init__(self, start: int):\n        self.n = start\n\n" \
             "    def bump(self) -> int:\n        self.n += 1\n        return self.n\n"  # fmt: skip
    assert "exports class Counter (resource counter)" in cell("python py_counter_only", source)
    assert ns["py_counter_only"].Counter(4).bump() == 5


COINS_PY = """
class Coin:
    def __init__(self, value: int):
        self.value = value

    def worth(self) -> int:
        return self.value


def mint(values: list[int]) -> list[Coin]:
    return [Coin(v) for v in values]
"""


def test_a_function_of_numbers_and_resources_gets_no_bulk_twin(cell, ns):
    """`mint` takes a numeric list, which would give it a bulk twin in a second interface; a twin carrying
    handles is not made (componentize-py wrote that interface's copy of an undocumented class empty)."""
    from asterai_kernel import wit

    cell("python py_mint", COINS_PY)
    iface = ns["py_mint"]._live.iface
    assert wit.bulk_interface(iface) is None
    assert [c.worth() for c in ns["py_mint"].mint(list(range(1000)))] == list(range(1000))
