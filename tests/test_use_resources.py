"""Resources across `--use` (issue 23): a consumer holds a provider's resource objects, in Rust
(`bank::Account::new(..)`) and in Python (`bank.Account(..)`), whichever language the provider is in."""

from __future__ import annotations

import re

import pytest

from asterai_kernel import CompileError, GuestTrap, links, resources

BANK_PY = '''
from dataclasses import dataclass

LIVE = [0]


class Account:
    """A bank account."""

    def __init__(self, start: int):
        self.balance = start
        LIVE[0] += 1

    def __del__(self):
        LIVE[0] -= 1

    def deposit(self, amount: int) -> int:
        if amount < 0:
            raise ValueError("a deposit cannot be negative")
        self.balance += amount
        return self.balance

    def get(self) -> int:
        return self.balance

    def richer_than(self, other: "Account") -> bool:
        return self.balance > other.balance

    @staticmethod
    def copy(a: "Account") -> "Account":
        return Account(a.balance)


@dataclass
class Named:
    name: str
    account: Account


def live() -> int:
    return LIVE[0]


def opened(start: int) -> Account:
    return Account(start)


def opened_many(starts: list[int]) -> list[Account]:
    return [Account(s) for s in starts]


def labelled(name: str, start: int) -> Named:
    return Named(name, Account(start))


def balance_of(n: Named) -> int:
    return n.account.balance


def maybe(start: int) -> Account | None:
    return Account(start) if start > 0 else None


def richest(a: Account, b: Account) -> int:
    return max(a.balance, b.balance)
'''

BANK_RS = """
use std::sync::atomic::{AtomicI64, Ordering};
static LIVE: AtomicI64 = AtomicI64::new(0);

/// A bank account.
pub struct Account { balance: i64 }

impl Account {
    pub fn new(start: i64) -> Self { LIVE.fetch_add(1, Ordering::Relaxed); Account { balance: start } }
    pub fn deposit(&mut self, amount: i64) -> i64 {
        assert!(amount >= 0, "a deposit cannot be negative");
        self.balance += amount;
        self.balance
    }
    pub fn get(&self) -> i64 { self.balance }
    pub fn copy(a: &Account) -> Account { Account::new(a.balance) }
}

impl Drop for Account {
    fn drop(&mut self) { LIVE.fetch_sub(1, Ordering::Relaxed); }
}

pub fn live() -> i64 { LIVE.load(Ordering::Relaxed) }
pub fn opened(start: i64) -> Account { Account::new(start) }
pub fn maybe(start: i64) -> Option<Account> { if start > 0 { Some(Account::new(start)) } else { None } }
"""

RUST_USER = """
pub fn total(n: i64) -> i64 {
    let a = {P}::Account::new(n);  // the constructor runs in {P}
    a.deposit(1) + a.get()  // methods borrow it
}

pub fn copied(n: i64) -> i64 {
    let a = {P}::Account::new(n);
    let b = {P}::Account::copy(&a);  // a static function, an own handle back
    b.deposit(100) + a.get()
}

pub fn live_inside() -> i64 {
    let a = {P}::opened(1);
    {P}::live()  // `a` is still held here; dropped on return
}

pub fn maybe_sum(n: i64) -> i64 {
    {P}::maybe(n).map(|a| a.get()).unwrap_or(-1)
}

pub fn overdraw(n: i64) -> i64 {
    let a = {P}::Account::new(n);
    a.deposit(-1)
}

thread_local! {
    static KEPT: std::cell::RefCell<Vec<{P}::Account>> = std::cell::RefCell::new(Vec::new());
}

pub fn keep(n: i64) -> u32 {
    KEPT.with(|k| { k.borrow_mut().push({P}::Account::new(n)); k.borrow().len() as u32 })
}

pub fn kept_balance() -> i64 { KEPT.with(|k| k.borrow().last().unwrap().get()) }

pub fn forget() -> i64 {
    KEPT.with(|k| k.borrow_mut().clear());  // each Account's Drop gives its handle back
    {P}::live()
}
"""

RUST_USER_PY_ONLY = """
pub fn many() -> i64 {
    py_bank::opened_many(&[1, 2, 3]).iter().map(|a| a.get()).sum()
}

pub fn named(n: i64) -> i64 {
    let named = py_bank::labelled("savings", n);
    named.account.deposit(1);
    py_bank::balance_of(named)  // the record gives its account back to py_bank
}
"""

PYTHON_USER = """
import {P}

kept = []


def total(n: int) -> int:
    a = {P}.Account(n)
    return a.deposit(1) + a.get()


def copied(n: int) -> int:
    a = {P}.Account(n)
    b = {P}.Account.copy(a)
    return b.deposit(100) + a.get()


def live_inside() -> int:
    a = {P}.opened(1)
    return {P}.live()


def maybe_sum(n: int) -> int:
    a = {P}.maybe(n)
    return -1 if a is None else a.get()


def overdraw(n: int) -> int:
    return {P}.Account(n).deposit(-1)


def keep(n: int) -> int:
    kept.append({P}.Account(n))
    return len(kept)


def kept_balance() -> int:
    return kept[-1].get()


def forget() -> int:
    kept.clear()
    return {P}.live()
"""

PYTHON_USER_PY_ONLY = """
import py_bank


def many() -> int:
    return sum(a.get() for a in py_bank.opened_many([1, 2, 3]))


def named(n: int) -> int:
    named = py_bank.labelled("savings", n)
    named.account.deposit(1)
    return py_bank.balance_of(named)
"""


def _common(h, provider, counts: bool, options: bool = True) -> None:
    """`options`: whether the consumer spells option<account> (C's header has no option type)."""
    assert h.total(10) == 22  # 10 + 1, then 11
    assert h.copied(5) == 110  # the copy got 100, the original kept 5
    if counts:  # Rust's Drop counts (componentize-py keeps a Python object alive)
        assert provider.live() == 0  # every object the consumer made is dropped again
        assert h.live_inside() == 1 and provider.live() == 0  # held during the call, dropped at its end
    assert not resources._HOST_OBJECTS  # the consumer holds no handle any more
    if options:
        assert h.maybe_sum(4) == 4 and h.maybe_sum(0) == -1
    with pytest.raises(GuestTrap, match="a deposit cannot be negative"):
        h.overdraw(1)  # the provider's trap is the consumer's call's error
    assert h.total(1) == 4  # both run again


@pytest.mark.parametrize("provider", ["py_bank", "rs_bank"])
def test_a_rust_cell_uses_a_providers_resource(cell, providers, provider):
    user = f"rs_user_of_{provider}"
    source = RUST_USER.replace("{P}", provider) + (RUST_USER_PY_ONLY if provider == "py_bank" else "")
    cell(f"rust {user} --use {provider}", source)
    h = providers[user]
    _common(h, providers[provider], provider == "rs_bank")
    if provider == "py_bank":
        assert h.many() == 6  # a list of handles
        assert h.named(40) == 41  # a handle inside a record, received and given back
        assert not resources._HOST_OBJECTS and not links._HELD.get(id(h._live.store))
    _kept_across_calls(cell, h, providers[provider], provider)


@pytest.mark.parametrize("provider", ["py_bank", "rs_bank"])
def test_a_python_cell_uses_a_providers_resource(cell, providers, provider):
    user = f"py_user_of_{provider}"
    source = PYTHON_USER.replace("{P}", provider) + (PYTHON_USER_PY_ONLY if provider == "py_bank" else "")
    cell(f"python {user} --use {provider}", source)
    h, p = providers[user], providers[provider]
    _common(h, p, provider == "rs_bank")
    if provider == "py_bank":
        assert h.many() == 6 and h.named(40) == 41
    _kept_across_calls(cell, h, p, provider)


def _kept_across_calls(cell, h, p, provider: str) -> None:
    """Objects a consumer keeps between calls: dropped with it, and refused after the provider's restart
    or re-run."""
    assert h.keep(7) == 1 and h.kept_balance() == 7  # held between calls
    assert len(resources._HOST_OBJECTS) == 1
    live = h.forget()  # dropping it in the consumer drops it in the provider
    assert not resources._HOST_OBJECTS and (live == 0 or provider == "py_bank")
    h.keep(8)
    with pytest.raises(GuestTrap):
        p.Account(1).deposit(-1)  # the provider traps and restarts: its objects are gone
    with pytest.raises(GuestTrap, match=f"belonged to {provider} before it restarted"):
        h.kept_balance()
    h.keep(9)
    cell(
        f"{'python' if provider == 'py_bank' else 'rust'} {provider}",
        BANK_PY if provider == "py_bank" else BANK_RS,
    )
    with pytest.raises(GuestTrap, match=f"belongs to a {provider} that was re-run or removed"):
        h.kept_balance()  # the objects of the provider's previous run are gone too
    assert h.total(1) == 4  # its new run serves the consumer


RICHEST_RS = """
pub fn richer(n: i64) -> i64 { let a = py_bank::Account::new(n); let b = py_bank::Account::new(n + 5); py_bank::richest(&a, &b) }
pub fn richer_than(n: i64) -> bool { let a = py_bank::Account::new(n); let b = py_bank::Account::new(n + 5); b.richer_than(&a) }
"""
RICHEST_PY = """
import py_bank


def richer(n: int) -> int:
    a, b = py_bank.Account(n), py_bank.Account(n + 5)
    return py_bank.richest(a, b)


def richer_than(n: int) -> bool:
    a, b = py_bank.Account(n), py_bank.Account(n + 5)
    return b.richer_than(a)
"""


@pytest.mark.parametrize(
    "lang, source", [("rust", RICHEST_RS), ("python", RICHEST_PY)], ids=["rust", "python"]
)
def test_a_function_borrowing_two_resources_crosses(cell, providers, lang, source):
    """Two objects lent in one call (a static, a method lending another object). wasmtime 50 trapped on it
    ("deferred host scope has no call context"); the pinned wasmtime 51 passes them."""
    cell(f"{lang} {lang}_richer --use py_bank", source)
    h = providers[f"{lang}_richer"]
    assert h.richer(1) == 6
    assert h.richer_than(1) is True


def test_a_typescript_providers_resource_crosses_too(cell, ns):
    from test_cell_resources import ACCOUNTS_TS

    cell("typescript ts_bank", ACCOUNTS_TS)
    cell(
        "rust rs_user_of_ts --use ts_bank",
        "pub fn total(n: f64) -> f64 {\n    let a = ts_bank::Account::new(n);\n"
        "    let b = ts_bank::opened(0.5);\n    a.deposit(1.0) + b.get()\n}\n",
    )
    assert ns["rs_user_of_ts"].total(2.5) == 4.0
    cell("python py_user_of_ts --use ts_bank",
         "import ts_bank\n\n\ndef total(n: float) -> float:\n    return ts_bank.Account(n).deposit(1.0)\n")  # fmt: skip
    assert ns["py_user_of_ts"].total(2.5) == 3.5
    assert not resources._HOST_OBJECTS


@pytest.mark.parametrize(
    "lang, source, where",
    [("rust", "pub fn peek(a: &rs_bank::Account) -> i64 { a.get() }\n", "line 2: `pub fn peek`: parameter `a`"),
     ("python", "import rs_bank\n\n\ndef make(n: int) -> rs_bank.Account:\n    return rs_bank.Account(n)\n",
      "line 5: `def make` returns")],
    ids=["rust", "python"],
)  # fmt: skip
def test_a_consumers_own_functions_cannot_take_or_return_the_resource_yet(
    cell, providers, lang, source, where
):
    with pytest.raises(CompileError, match=re.escape(where) + r".*it is or holds rs_bank's resource `account`, which "
                                           r"this cell can make and use inside its functions but not yet take"):  # fmt: skip
        cell(f"{lang} {lang}_resource_exporter --use rs_bank", source)


BOMB_RS = """
pub struct Bomb { armed: bool }

impl Bomb {
    pub fn new() -> Self { Bomb { armed: true } }
    pub fn tick(&self) -> u32 { 1 }
}

impl Drop for Bomb {
    fn drop(&mut self) { if self.armed { panic!("boom on drop"); } }
}

pub fn alive() -> u32 { 7 }
"""


def test_a_providers_destructor_trapping_is_the_consumers_error(cell, ns):
    cell("rust rs_bomb", BOMB_RS)
    cell(
        "rust rs_lighter --use rs_bomb", "pub fn light() -> u32 { let b = rs_bomb::Bomb::new(); b.tick() }\n"
    )
    with pytest.raises(GuestTrap, match="rs_bomb.drop of a bomb trapped: .*boom on drop"):
        ns["rs_lighter"].light()  # the Bomb is dropped on return: its Drop panics in rs_bomb
    assert ns["rs_bomb"].alive() == 7  # both restarted; the kernel is fine
    with pytest.raises(GuestTrap, match="boom on drop"):
        ns["rs_lighter"].light()
