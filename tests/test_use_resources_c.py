"""Resources across `--use` from C and C++ cells: a C cell holds a provider's objects through wit-bindgen's
C handle types (`py_bank_own_account_t`, dropped explicitly), a C++ cell through a move-only class
(`py_bank::Account`, dropped by its destructor); the providers are test_use_resources' (Python and Rust)."""

from __future__ import annotations

import re

import pytest
from test_use_resources import BANK_PY, BANK_RS, _kept_across_calls

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


@pytest.fixture(scope="module")
def providers(ip):
    from conftest import Cell

    cell = Cell(ip)
    cell("python py_bank", BANK_PY)
    cell("rust rs_bank", BANK_RS)
    return ip.user_ns


def _checks(h, provider, counts: bool) -> None:
    """test_use_resources._common without its option<account> (which C cannot spell)."""
    assert h.total(10) == 22  # 10 + 1, then 11
    assert h.copied(5) == 110  # the copy got 100, the original kept 5
    if counts:  # Rust's Drop counts (componentize-py keeps a Python object alive)
        assert provider.live() == 0  # every object the consumer made is dropped again
        assert h.live_inside() == 1 and provider.live() == 0
    assert not resources._HOST_OBJECTS  # the consumer holds no handle any more
    with pytest.raises(GuestTrap, match="a deposit cannot be negative"):
        h.overdraw(1)  # the provider's trap is the consumer's call's error
    assert h.total(1) == 4  # both run again


@pytest.mark.parametrize("provider", ["py_bank", "rs_bank"])
def test_a_c_cell_uses_a_providers_resource(cell, providers, provider):
    user = f"c_user_of_{provider}"
    source = C_USER.replace("{P}", provider) + (C_USER_PY_ONLY if provider == "py_bank" else "")
    cell(f"c {user} --use {provider}", source)
    h = providers[user]
    _checks(h, providers[provider], provider == "rs_bank")
    if provider == "py_bank":
        assert h.many() == 6  # a list of handles
        assert h.named(40) == 41  # a handle inside a record, received and given back
        assert h.richer(1) == 6
        assert not resources._HOST_OBJECTS and not links._HELD.get(id(h._live.store))
    _kept_across_calls(cell, h, providers[provider], provider)
