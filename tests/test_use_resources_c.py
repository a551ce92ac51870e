"""Resources across `--use` from C and C++ cells: a C cell holds a provider's objects through wit-bindgen's
C handle types (`py_bank_own_account_t`, dropped explicitly), a C++ cell through a move-only class
(`py_bank::Account`, dropped by its destructor); the providers are test_use_resources' (Python and Rust)."""

from __future__ import annotations

import re

import pytest
from test_use_resources import _common, _kept_across_calls

from asterai_kernel import CompileError, GuestTrap, links, resources

C_USER = """
int64_t total(int64_t n) {
    {P}_own_account_t a = {P}_constructor_account(n);  /* the constructor runs in {P} */
    {P}_borrow_account_t b = {P}_borrow_account(a);
    int64_t sum = {P}_method_account_deposit(b, 1) + {P}_method_account_get(b);  /* methods borrow it */
    {P}_account_drop_own(a);  /* C frees explicitly: {P} drops its object */
    return sum;
}

int64_t copied(int64_t n) {
    {P}_own_account_t a = {P}_constructor_account(n);
    {P}_own_account_t b = {P}_static_account_copy({P}_borrow_account(a));  /* a static function */
    int64_t sum = {P}_method_account_deposit({P}_borrow_account(b), 100) + {P}_method_account_get({P}_borrow_account(a));
    {P}_account_drop_own(a);
    {P}_account_drop_own(b);
    return sum;
}

int64_t live_inside(void) {
    {P}_own_account_t a = {P}_opened(1);  /* an own handle received */
    int64_t live = {P}_live();
    {P}_account_drop_own(a);
    return live;
}

int64_t overdraw(int64_t n) {
    {P}_own_account_t a = {P}_constructor_account(n);
    return {P}_method_account_deposit({P}_borrow_account(a), -1);
}

static {P}_own_account_t kept[8];  /* objects kept between calls */
static uint32_t nkept = 0;

uint32_t keep(int64_t n) {
    kept[nkept++] = {P}_constructor_account(n);
    return nkept;
}

int64_t kept_balance(void) { return {P}_method_account_get({P}_borrow_account(kept[nkept - 1])); }

int64_t forget(void) {
    while (nkept > 0) {P}_account_drop_own(kept[--nkept]);
    return {P}_live();
}
"""

C_USER_PY_ONLY = """
int64_t many(void) {
    int64_t starts[] = {1, 2, 3};
    py_bank_account_list got = py_bank_opened_many(starts, 3);  /* a list of own handles */
    int64_t sum = 0;
    for (size_t i = 0; i < got.len; i++) {
        sum += py_bank_method_account_get(py_bank_borrow_account(got.ptr[i]));
        py_bank_account_drop_own(got.ptr[i]);
    }
    free(got.ptr);
    return sum;
}

int64_t named(int64_t n) {
    py_bank_named nm = py_bank_labelled("savings", n);  /* a record holding an own handle */
    py_bank_method_account_deposit(py_bank_borrow_account(nm.account), 1);
    free(nm.name);
    return py_bank_balance_of(nm);  /* the record, and its account, are given to py_bank */
}

int64_t richer(int64_t n) {
    py_bank_own_account_t a = py_bank_constructor_account(n), b = py_bank_constructor_account(n + 5);
    int64_t r = py_bank_richest(py_bank_borrow_account(a), py_bank_borrow_account(b));  /* two lent */
    bool than = py_bank_method_account_richer_than(py_bank_borrow_account(b), py_bank_borrow_account(a));
    py_bank_account_drop_own(a);
    py_bank_account_drop_own(b);
    return than ? r : -r;
}
"""


@pytest.mark.parametrize("provider", ["py_bank", "rs_bank"])
def test_a_c_cell_uses_a_providers_resource(cell, providers, provider):
    user = f"c_user_of_{provider}"
    source = C_USER.replace("{P}", provider) + (C_USER_PY_ONLY if provider == "py_bank" else "")
    cell(f"c {user} --use {provider}", source)
    h = providers[user]
    _common(h, providers[provider], provider == "rs_bank", options=False)
    if provider == "py_bank":
        assert h.many() == 6  # a list of handles
        assert h.named(40) == 41  # a handle inside a record, received and given back
        assert h.richer(1) == 6
        assert not resources._HOST_OBJECTS and not links._HELD.get(id(h._live.store))
    _kept_across_calls(cell, h, providers[provider], provider)


CPP_USER = """
#include <memory>

int64_t total(int64_t n) {
    {P}::Account a(n);  // the constructor runs in {P}
    return a.deposit(1) + a.get();  // methods borrow it; its destructor drops it in {P}
}

int64_t copied(int64_t n) {
    {P}::Account a(n);
    {P}::Account b = {P}::Account::copy(a);  // a static function, an object back by value
    return b.deposit(100) + a.get();
}

int64_t live_inside() {
    {P}::Account a = {P}::opened(1);
    return {P}::live();  // `a` is still held here; dropped on return
}

int64_t overdraw(int64_t n) { return {P}::Account(n).deposit(-1); }

static std::vector<{P}::Account> kept;  // objects kept between calls

uint32_t keep(int64_t n) {
    kept.emplace_back(n);
    return (uint32_t)kept.size();
}

int64_t kept_balance() { return kept.back().get(); }

int64_t forget() {
    kept.clear();  // each destructor gives its object back
    return {P}::live();
}

int64_t moved(int64_t n) {
    {P}::Account a(n);
    {P}::Account b = std::move(a);  // moving moves the handle: only b drops it
    auto c = std::make_unique<{P}::Account>(std::move(b));
    return c->get();
}
"""

CPP_USER_PY_ONLY = """
int64_t many() {
    int64_t sum = 0;
    for (const auto &a : py_bank::opened_many({1, 2, 3})) sum += a.get();  // std::vector<Account>
    return sum;
}

int64_t named(int64_t n) {
    py_bank::Named nm = py_bank::labelled("savings", n);  // a record: its account is C's own handle
    py_bank::Account account(nm.account);  // which an object takes over
    account.deposit(1);
    nm.account = std::move(account).into_handle();  // given back to the record
    int64_t balance = py_bank::balance_of(nm);  // and the record to py_bank
    free(nm.name);
    return balance;
}

int64_t richer(int64_t n) {
    py_bank::Account a(n), b(n + 5);
    return b.richer_than(a) ? py_bank::richest(a, b) : -1;  // both lent
}
"""


@pytest.mark.parametrize("provider", ["py_bank", "rs_bank"])
def test_a_cpp_cell_uses_a_providers_resource(cell, providers, provider):
    user = f"cpp_user_of_{provider}"
    source = CPP_USER.replace("{P}", provider) + (CPP_USER_PY_ONLY if provider == "py_bank" else "")
    cell(f"cpp {user} --use {provider}", source)
    h = providers[user]
    _common(h, providers[provider], provider == "rs_bank", options=False)
    assert h.moved(3) == 3 and not resources._HOST_OBJECTS  # moved twice, dropped once
    if provider == "rs_bank":
        assert providers[provider].live() == 0
    if provider == "py_bank":
        assert h.many() == 6 and h.named(40) == 41 and h.richer(1) == 6
        assert not resources._HOST_OBJECTS and not links._HELD.get(id(h._live.store))
    _kept_across_calls(cell, h, providers[provider], provider)


# Python lends a parameter that is an object (borrow), but gives a list of them (own): the list's go to it.
PURSE_PY = """
class Coin:
    def __init__(self, value: int):
        self.value = value

    def worth(self) -> int:
        return self.value


def spend_all(cs: list[Coin]) -> int:
    return sum(c.value for c in cs)
"""

PAY_C = """
int64_t pay_all(void) {
    py_purse_own_coin_t cs[] = {py_purse_constructor_coin(1), py_purse_constructor_coin(2)};
    return py_purse_spend_all(cs, 2);  /* a list of own handles, given away: the cell must not drop them */
}
"""

PAY_CPP = """
int64_t pay_all() {
    std::vector<py_purse::Coin> cs;
    cs.emplace_back(1);
    cs.emplace_back(2);
    return py_purse::spend_all(std::move(cs));  // moved in: the objects are py_purse's now
}
"""


@pytest.mark.parametrize("lang, source", [("c", PAY_C), ("cpp", PAY_CPP)])
def test_own_objects_given_to_the_provider_are_its_own(cell, providers, lang, source):
    if "py_purse" not in providers:
        cell("python py_purse", PURSE_PY)
    cell(f"{lang} {lang}_payer --use py_purse", source)
    h = providers[f"{lang}_payer"]
    assert h.pay_all() == 3 and h.pay_all() == 3
    assert not resources._HOST_OBJECTS  # given once each, none dropped by the cell too


LIGHT = {
    "c": "uint32_t light(void) {\n    rs_bomb_c_own_bomb_t b = rs_bomb_c_constructor_bomb();\n"
    "    uint32_t t = rs_bomb_c_method_bomb_tick(rs_bomb_c_borrow_bomb(b));\n"
    "    rs_bomb_c_bomb_drop_own(b);\n    return t;\n}\n",
    "cpp": "uint32_t light() {\n    rs_bomb_c::Bomb b;\n    return b.tick();  // b's destructor drops it\n}\n",
}


@pytest.mark.parametrize("lang", ["c", "cpp"])
def test_a_providers_trap_is_the_c_consumers_guest_trap(cell, providers, lang):
    from test_use_resources import BOMB_RS

    if "rs_bomb_c" not in providers:
        cell("rust rs_bomb_c", BOMB_RS)
    cell(f"{lang} {lang}_lighter --use rs_bomb_c", LIGHT[lang])
    with pytest.raises(GuestTrap, match="rs_bomb_c.drop of a bomb trapped: .*boom on drop"):
        providers[f"{lang}_lighter"].light()  # dropping the Bomb runs its Drop in rs_bomb_c, which panics
    assert providers["rs_bomb_c"].alive() == 7  # both restarted; the kernel is fine


@pytest.mark.parametrize(
    "lang, source, where",
    [("c", "int64_t peek(py_bank_borrow_account_t a) { return 0; }\n", "line 2: `peek`: parameter `a`"),
     ("cpp", "py_bank::Account make(int64_t n) { return py_bank::Account(n); }\n", "line 2: `make` returns")],
)  # fmt: skip
def test_a_c_consumers_own_functions_cannot_take_or_return_the_resource(cell, providers, lang, source, where):
    with pytest.raises(CompileError, match=re.escape(where) + ".*has no WIT equivalent"):
        cell(f"{lang} {lang}_resource_exporter --use py_bank", source)


# The tutorial's cells (the lead's): one object kept between calls, a copy, a list of objects.
TUTORIAL = {
    "c": """
static py_bank_own_account_t kept;  /* an own handle, kept between calls */

int64_t open_account(int64_t start) {
    kept = py_bank_constructor_account(start);  /* made in py_bank */
    return py_bank_method_account_deposit(py_bank_borrow_account(kept), 10);  /* methods borrow */
}

int64_t copy_balance(void) {
    py_bank_own_account_t copy = py_bank_static_account_copy(py_bank_borrow_account(kept));
    int64_t balance = py_bank_method_account_get(py_bank_borrow_account(copy));
    py_bank_account_drop_own(copy);  /* C frees explicitly: py_bank drops its object */
    return balance;
}

void close_account(void) { py_bank_account_drop_own(kept); }
""",
    "cpp": """
static std::optional<py_bank::Account> kept;  // an object, kept between calls

int64_t open_account(int64_t start) {
    kept.emplace(start);  // made in py_bank
    return kept->deposit(10);  // methods borrow it
}

int64_t copy_balance() {
    py_bank::Account copy = py_bank::Account::copy(*kept);  // dropped at the end of its scope
    return copy.get();
}

int64_t richest() {
    std::vector<py_bank::Account> all = py_bank::opened_many({1, 2, 3});
    return py_bank::richest(all[0], all[2]);  // both lent
}

void close_account() { kept.reset(); }  // its destructor drops it in py_bank
""",
}


@pytest.mark.parametrize("lang", ["c", "cpp"])
def test_the_tutorial_cells(cell, providers, lang):
    cell(f"{lang} {lang}_teller --use py_bank", TUTORIAL[lang])
    h = providers[f"{lang}_teller"]
    assert h.open_account(5) == 15 and h.copy_balance() == 15
    assert len(resources._HOST_OBJECTS) == 1  # the kept one
    if lang == "cpp":
        assert h.richest() == 3 and len(resources._HOST_OBJECTS) == 1
    h.close_account()
    assert not resources._HOST_OBJECTS
