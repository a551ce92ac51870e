"""Resources across `--use` from Go: a Go cell holds a provider's objects as wit-bindgen-go's users know
them (`py_bank.NewAccount(5)`, `a.Deposit(1)`, `py_bank.AccountCopy(a)`, `defer a.ResourceDrop()`)."""

from __future__ import annotations

import re

import pytest
from test_use_resources import _common, _kept_across_calls

from asterai_kernel import CompileError, GuestTrap, links, resources, wit
from asterai_kernel.languages.go.imports import first_function, package

GO_USER = """
// Total makes an account in {P}, calls its methods and drops it on return.
func Total(n int64) int64 {
	a := {P}.NewAccount(n)
	defer a.ResourceDrop()
	return a.Deposit(1) + a.Get()
}

func Copied(n int64) int64 {
	a := {P}.NewAccount(n)
	defer a.ResourceDrop()
	b := {P}.AccountCopy(a) // a static function: a is lent, b is a new account
	defer b.ResourceDrop()
	return b.Deposit(100) + a.Get()
}

func LiveInside() int64 {
	a := {P}.Opened(1) // received from a function
	defer a.ResourceDrop()
	return {P}.Live()
}

func MaybeSum(n int64) int64 {
	a := {P}.Maybe(n) // an option is a pointer
	if a == nil {
		return -1
	}
	defer a.ResourceDrop()
	return a.Get()
}

func Overdraw(n int64) int64 {
	a := {P}.NewAccount(n)
	defer a.ResourceDrop()
	return a.Deposit(-1)
}

var kept []{P}.Account // held between calls

func Keep(n int64) uint32 {
	kept = append(kept, {P}.NewAccount(n))
	return uint32(len(kept))
}

func KeptBalance() int64 { return kept[len(kept)-1].Get() }

func Forget() int64 {
	for _, a := range kept {
		a.ResourceDrop()
	}
	kept = nil
	return {P}.Live()
}
"""

GO_USER_PY_ONLY = """
func Many() int64 {
	var sum int64
	for _, a := range py_bank.OpenedMany([]int64{1, 2, 3}) { // a slice of accounts
		sum += a.Get()
		a.ResourceDrop()
	}
	return sum
}

func Named(n int64) int64 {
	named := py_bank.Labelled("savings", n)
	named.Account.Deposit(1)
	return py_bank.BalanceOf(named) // the record gives its account back to py_bank
}

func Richer(n int64) int64 {
	a, b := py_bank.NewAccount(n), py_bank.NewAccount(n+5)
	defer a.ResourceDrop()
	defer b.ResourceDrop()
	return py_bank.Richest(a, b) // both lent
}

func RicherThan(n int64) bool {
	a, b := py_bank.NewAccount(n), py_bank.NewAccount(n+5)
	defer a.ResourceDrop()
	defer b.ResourceDrop()
	return b.RicherThan(a) // a method lending another account
}
"""


@pytest.mark.parametrize("provider", ["py_bank", "rs_bank"])
def test_a_go_cell_uses_a_providers_resource(cell, providers, provider):
    user = f"go_user_of_{provider}"
    source = GO_USER.replace("{P}", provider) + (GO_USER_PY_ONLY if provider == "py_bank" else "")
    cell(f"go {user} --use {provider}", source)
    h = providers[user]
    _common(h, providers[provider], provider == "rs_bank")
    if provider == "py_bank":
        assert h.many() == 6  # a slice of handles, each dropped
        assert h.named(40) == 41  # a handle inside a record, received and given back
        assert h.richer(1) == 6 and h.richer_than(1) is True
        assert not resources._HOST_OBJECTS and not links._HELD.get(id(h._live.store))
    _kept_across_calls(cell, h, providers[provider], provider)


VAULT_PY = """
class Coin:
    "A coin."

    def __init__(self, value: int):
        self.value = value

    def worth(self) -> int:
        return self.value


def melt_all(coins: list[Coin]) -> int:
    return sum(c.value for c in coins)


def mint(values: list[int]) -> list[Coin]:
    return [Coin(v) for v in values]
"""

GO_VAULT_USER = """
func MeltedAll() int64 {
	coins := py_vault.Mint([]int64{1, 2, 3})
	coins = append(coins, py_vault.NewCoin(4))
	return py_vault.MeltAll(coins) // every coin is given away: none may be used afterwards
}

func UseAfterGiving(n int64) int64 {
	coins := []py_vault.Coin{py_vault.NewCoin(n)}
	py_vault.MeltAll(coins)
	return coins[0].Worth() // the handle was given away: a trap
}

func DropTwice() {
	c := py_vault.NewCoin(1)
	c.ResourceDrop()
	c.ResourceDrop() // dropped already: a trap
}
"""


def test_a_go_cell_gives_own_handles_away(cell, ns):
    cell("python py_vault", VAULT_PY)
    cell("go go_vault_user --use py_vault", GO_VAULT_USER)
    h = ns["go_vault_user"]
    assert h.melted_all() == 10
    assert not resources._HOST_OBJECTS
    gone = r"unknown handle index \d+ \(the cell used a resource object it no longer holds"
    with pytest.raises(GuestTrap, match=r"go_vault_user.use_after_giving trapped: " + gone):
        h.use_after_giving(1)
    with pytest.raises(GuestTrap, match=gone):
        h.drop_twice()
    assert h.melted_all() == 10  # it runs again
    assert not resources._HOST_OBJECTS


def test_a_providers_trap_is_the_go_consumers_guest_trap(cell, providers):
    cell(
        "go go_overdrawer --use rs_bank",
        "func Overdraw() int64 {\n\ta := rs_bank.NewAccount(1)\n\tdefer a.ResourceDrop()\n"
        "\treturn a.Deposit(-5)\n}\n\nfunc Fine() int64 { return rs_bank.Live() }\n",
    )
    h = providers["go_overdrawer"]
    with pytest.raises(GuestTrap, match="a deposit cannot be negative"):
        h.overdraw()
    assert h.fine() == 0  # the provider and the consumer run again; nothing is left over
    assert not resources._HOST_OBJECTS


@pytest.mark.parametrize(
    "source, where, held",
    [("func Peek(a rs_bank.Account) int64 { return a.Get() }\n", "parameter `a ", "rs_bank's resource"),
     ("func Many() []py_bank.Account { return nil }\n", "returns", "py_bank's resource"),
     ("func Name(n py_bank.Named) string { return n.Name }\n", "parameter `n ", "py_bank's resource")],
    ids=["parameter", "slice", "record"],
)  # fmt: skip
def test_a_go_cells_own_functions_cannot_take_the_resource_yet(cell, providers, source, where, held):
    provider, fn = held.split("'")[0], re.match(r"func (\w+)", source).group(1)
    with pytest.raises(CompileError, match=re.escape(f"line 2: `func {fn}`") + ".*" + re.escape(where)
                       + rf".*it is or holds {held} `account`, which this cell can make and use inside its "
                       "functions but not yet take or return"):  # fmt: skip
        cell(f"go go_resource_exporter --use {provider}", source)


@pytest.mark.no_toolchain
def test_go_names_of_a_resources_functions_that_collide_are_refused():
    account = wit.Resource("account")
    own, lent = wit.Handle(account, True), wit.Handle(account, False)
    copy = wit.Function("[static]account.copy", (("a", lent),), own)
    clash = wit.Interface("bank", (copy, wit.Function("account-copy", (), wit.Prim("u8"))))
    with pytest.raises(CompileError, match=r"function `account-copy` would both be `bank.AccountCopy`"):
        package("bank", clash)
    drop = wit.Function("[method]account.resource-drop", (("self", lent),), None)
    with pytest.raises(CompileError, match=r"the drop of resource `account` and function "
                                           r"`\[method\]account.resource-drop` would both be `bank.Account."):  # fmt: skip
        package("bank", wit.Interface("bank", (drop,)))
    assert first_function(wit.Interface("bank", (drop, copy))) == "Account.ResourceDrop"


TELLER_GO = """
var vault []py_bank.Account // accounts kept between calls

func Open(start int64) uint32 {
	vault = append(vault, py_bank.NewAccount(start)) // made in py_bank
	return uint32(len(vault))
}

func Deposit(i uint32, amount int64) int64 {
	return vault[i].Deposit(amount) // a method borrows the account
}

func Twin(i uint32) int64 {
	twin := py_bank.AccountCopy(vault[i]) // a static function: a new account
	defer twin.ResourceDrop()             // py_bank frees it when Twin returns
	return twin.Deposit(1)
}

func CloseAll() {
	for _, a := range vault {
		a.ResourceDrop()
	}
	vault = nil
}
"""


def test_the_tutorials_go_teller(cell, providers):
    cell("go go_teller --use py_bank", TELLER_GO)
    h = providers["go_teller"]
    assert h.open(10) == 1 and h.open(20) == 2
    assert h.deposit(0, 5) == 15
    assert h.twin(1) == 21 and h.deposit(1, 0) == 20  # the twin got the deposit, not the original
    assert len(resources._HOST_OBJECTS) == 2
    h.close_all()
    assert not resources._HOST_OBJECTS


def test_a_typescript_providers_resource_crosses_to_go(cell, ns):
    from test_cell_resources import ACCOUNTS_TS

    cell("typescript ts_bank", ACCOUNTS_TS)
    cell(
        "go go_user_of_ts --use ts_bank",
        "func Total(n float64) float64 {\n\ta, b := ts_bank.NewAccount(n), ts_bank.Opened(0.5)\n"
        "\tdefer a.ResourceDrop()\n\tdefer b.ResourceDrop()\n\tm := ts_bank.AccountMerge(a, b)\n"
        "\tdefer m.ResourceDrop()\n\treturn a.Deposit(1.0) + m.Get() + ts_bank.Richest(a, b)\n}\n",
    )
    assert ns["go_user_of_ts"].total(2.5) == 3.5 + 3.0 + 3.5
    assert not resources._HOST_OBJECTS
