"""Resources across `--use` in TypeScript and JavaScript cells: `import { Account } from "py_bank"`, a class
per provider resource as jco spells imported ones (languages/typescript/imports.py)."""

from __future__ import annotations

import re

import pytest
from test_use_resources import _common, _kept_across_calls

from asterai_kernel import CompileError, GuestTrap, resources

TS_USER = """
import { Account, opened, maybe, live } from "{P}";

const kept: Account[] = [];

export function total(n: s64): s64 {
  const a = new Account(n);  // the constructor runs in {P}
  return a.deposit(1n) + a.get();  // methods borrow it; `a` is dropped when the call ends
}

export function copied(n: s64): s64 {
  const a = new Account(n);
  const b = Account.copy(a);  // a static function: a new object back
  return b.deposit(100) + a.get();  // a number is fine where the provider takes an s64
}

export function liveInside(): s64 {
  const a = opened(1n);
  return live();  // `a` is still held here
}

export function maybeSum(n: s64): s64 {
  const a = maybe(n);
  return a === undefined ? -1n : a.get();
}

export function overdraw(n: s64): s64 {
  return new Account(n).deposit(-1n);
}

export function keep(n: s64): u32 {
  kept.push(new Account(n));
  return kept.length;
}

export function keptBalance(): s64 {
  return kept[kept.length - 1].get();
}

export function forget(): s64 {
  for (const a of kept) a[Symbol.dispose]();  // dropped in {P} now
  kept.length = 0;
  return live();
}

export function abandon(n: s64): s64 {
  kept.push(new Account(n));
  const held = live();
  kept.length = 0;  // never disposed: garbage, dropped in {P} by the end of the call
  return held;
}

export function scoped(n: s64): s64 {
  let held;
  {
    using a = new Account(n);  // disposed when the block ends (esbuild lowers `using`)
    held = live();
  }
  return held * 10n + live();
}

export function isInstance(): boolean {
  return opened(1n) instanceof Account && Account.copy(new Account(2n)) instanceof Account;
}

export function usedAfterDispose(): s64 {
  const a = new Account(1n);
  a[Symbol.dispose]();
  a[Symbol.dispose]();  // a second dispose does nothing
  return a.get();
}

export function notAnAccount(): s64 {
  return Account.copy({} as Account).get();
}
"""

TS_USER_PY_ONLY = """
import { openedMany, labelled, balanceOf, richest } from "py_bank";

export function many(): s64 {
  let sum = 0n;
  for (const a of openedMany([1n, 2n, 3n])) sum += a.get();  // a list of objects
  return sum;
}

export function named(n: s64): s64 {
  const named = labelled("savings", n);
  named.account.deposit(1n);
  return balanceOf(named);  // the record gives its account back to py_bank
}

export function givenAway(): s64 {
  const a = new Account(2n);
  balanceOf({ name: "x", account: a });  // an own handle: `a` is empty now
  return a.get();
}

export function richer(n: s64): s64 {
  const a = new Account(n), b = new Account(n + 5n);
  return b.richerThan(a) ? richest(a, b) : -1n;  // two objects lent in one call
}
"""


@pytest.mark.parametrize("provider", ["py_bank", "rs_bank"])
def test_a_typescript_cell_uses_a_providers_resource(cell, providers, provider):
    user = f"ts_user_of_{provider}"
    source = TS_USER.replace("{P}", provider) + (TS_USER_PY_ONLY if provider == "py_bank" else "")
    cell(f"typescript {user} --use {provider}", source)
    h, p = providers[user], providers[provider]
    _common(h, p, provider == "rs_bank")
    assert h.is_instance() is True
    line = source.splitlines().index("  a[Symbol.dispose]();  // a second dispose does nothing") + 3
    with pytest.raises(
        GuestTrap, match=rf"{provider}'s Account was disposed or given away.*\n.*\(line {line}\)"
    ):
        h.used_after_dispose()
    with pytest.raises(GuestTrap, match=rf"expected {provider}'s Account, got object"):
        h.not_an_account()
    if provider == "rs_bank":
        assert h.abandon(3) == 1 and p.live() == 0  # garbage, dropped without a dispose
        assert h.scoped(3) == 10  # held in the block, dropped at its end
    else:
        assert h.many() == 6 and h.named(40) == 41 and h.richer(1) == 6
        with pytest.raises(GuestTrap, match="py_bank's Account was disposed or given away"):
            h.given_away()
    assert not resources._HOST_OBJECTS
    _kept_across_calls(cell, h, p, provider)


JS_USER = """
import { Account, opened, maybe, live } from "{P}";

const kept = [];

/** @param {s64} n @returns {s64} */
export function total(n) {
  const a = new Account(n);
  return a.deposit(1n) + a.get();
}

/** @param {s64} n @returns {s64} */
export function copied(n) {
  const a = new Account(n);
  return Account.copy(a).deposit(100n) + a.get();
}

/** @returns {s64} */
export function liveInside() {
  const a = opened(1n);
  return live();
}

/** @param {s64} n @returns {s64} */
export function maybeSum(n) {
  const a = maybe(n);
  return a === undefined ? -1n : a.get();
}

/** @param {s64} n @returns {s64} */
export function overdraw(n) {
  return new Account(n).deposit(-1n);
}

/** @param {s64} n @returns {u32} */
export function keep(n) {
  kept.push(new Account(n));
  return kept.length;
}

/** @returns {s64} */
export function keptBalance() {
  return kept[kept.length - 1].get();
}

/** @returns {s64} */
export function forget() {
  for (const a of kept) a[Symbol.dispose]();
  kept.length = 0;
  return live();
}
"""


@pytest.mark.parametrize("provider", ["py_bank", "rs_bank"])
def test_a_javascript_cell_uses_a_providers_resource(cell, providers, provider):
    user = f"js_user_of_{provider}"
    cell(f"javascript {user} --use {provider}", JS_USER.replace("{P}", provider))
    h, p = providers[user], providers[provider]
    _common(h, p, provider == "rs_bank")
    _kept_across_calls(cell, h, p, provider)


def test_a_typescript_cell_uses_a_typescript_providers_resource(cell, ns):
    from test_cell_resources import ACCOUNTS_TS

    cell("typescript ts_accounts_p", ACCOUNTS_TS)
    cell(
        "typescript ts_user_of_ts --use ts_accounts_p",
        """
import { Account, opened, richest } from "ts_accounts_p";

export function total(n: number): number {
  const a = new Account(n), b = opened(0.5);
  return a.deposit(1) + b.get() + Account.merge(a, b).get() + richest(a, b);
}
""",
    )
    assert ns["ts_user_of_ts"].total(2.5) == 3.5 + 0.5 + 4.0 + 3.5
    assert not resources._HOST_OBJECTS


@pytest.mark.parametrize(
    "lang, source, where",
    [("typescript", 'import { Account } from "rs_bank";\nexport function peek(a: Account): s64 { return a.get(); }\n',
      "line 3: `export function peek`: parameter `a`"),
     ("javascript", 'import { Account } from "rs_bank";\n/** @param {s64} n @returns {import("rs_bank").Account} */\n'
                    "export function make(n) { return new Account(n); }\n", "line 3: `export function make`")],
    ids=["typescript", "javascript"],
)  # fmt: skip
def test_a_js_cells_own_functions_cannot_take_or_return_the_resource_yet(
    cell, providers, lang, source, where
):
    with pytest.raises(CompileError, match=re.escape(where) + r".*it is or holds rs_bank's resource `account`, which "
                                           r"this cell can make and use inside its functions but not yet take"):  # fmt: skip
        cell(f"{lang} {lang}_resource_exporter --use rs_bank", source)


TUTORIAL_TS = """
import { Account, opened } from "py_bank";

let savings: Account | undefined;  // kept between calls; made on first use (top-level code runs at build)

export function payIn(amount: s64): s64 {
  savings ??= new Account(0n);  // the constructor runs in py_bank
  return savings.deposit(amount);  // so do its methods
}

export function richerThan(start: s64): boolean {
  const other = opened(start);  // py_bank's functions return Accounts too
  const copy = Account.copy(other);  // a static function
  other[Symbol.dispose]();  // dropped in py_bank now; `copy` when the call ends
  return copy.richerThan(savings!);  // `savings` is lent for the call
}

export function close(): s64 {
  const balance = savings!.get();
  savings![Symbol.dispose]();
  savings = undefined;
  return balance;
}
"""


def test_the_tutorials_typescript_cell(cell, providers):
    cell("typescript ts_savings --use py_bank", TUTORIAL_TS)
    h = providers["ts_savings"]
    assert h.pay_in(5) == 5 and h.pay_in(2) == 7
    assert h.richer_than(10) is True and h.richer_than(1) is False
    assert len(resources._HOST_OBJECTS) == 1  # `savings`
    assert h.close() == 7 and not resources._HOST_OBJECTS


def test_top_level_code_calling_the_provider_is_refused_clearly(cell, providers):
    """A cell's top-level code runs while its component is built (pre-initialization): no provider then."""
    with pytest.raises(CompileError, match=r"the cell's top-level code calls py_bank \(`\[constructor\]account`\), "
                                           r"but it runs while the component is built"):  # fmt: skip
        cell("typescript ts_too_early --use py_bank",
             'import { Account } from "py_bank";\nconst a = new Account(1n);\nexport function f(): s64 { return a.get(); }\n')  # fmt: skip


def test_a_cells_own_class_holds_a_providers_object(cell, providers):
    """Closing the cell's object drops the provider's it held at once (runtime.js links an object to its
    wrapper weakly, so no cycle keeps them until a collection)."""
    cell(
        "typescript ts_holder --use rs_bank",
        """
import { Account, live } from "rs_bank";

export class Wallet {
  #account: Account;
  constructor(n: s64) { this.#account = new Account(n); }
  get(): s64 { return this.#account.get(); }
}

export function lives(): s64 { return live(); }
""",
    )
    h = providers["ts_holder"]
    wallet = h.Wallet(4)
    assert wallet.get() == 4 and h.lives() == 1
    wallet.close()
    assert h.lives() == 0 and not resources._HOST_OBJECTS


def test_a_cell_uses_two_providers_resources_of_one_name(cell, providers):
    cell(
        "typescript ts_two_banks --use py_bank,rs_bank",
        """
import { Account as PyAccount } from "py_bank";
import { Account as RsAccount } from "rs_bank";

export function both(n: s64): s64 {
  return new PyAccount(n).deposit(1n) + new RsAccount(n).deposit(2n);
}

export function mixed(): s64 {
  return PyAccount.copy(new RsAccount(1n) as unknown as PyAccount).get();
}
""",
    )
    h = providers["ts_two_banks"]
    assert h.both(10) == 23
    with pytest.raises(GuestTrap, match="expected py_bank's Account, got rs_bank's Account"):
        h.mixed()
    assert not resources._HOST_OBJECTS


VAULT_RS = """
pub struct Vault { left: i64 }

impl Vault {
    pub fn new(left: i64) -> Self { Vault { left } }
    pub fn take(&mut self, n: i64) -> Result<i64, String> {
        if n > self.left { return Err(format!("only {} left", self.left)); }
        self.left -= n;
        Ok(self.left)
    }
}

pub fn open(left: i64) -> Result<Vault, String> {
    if left < 0 { Err("a vault cannot hold less than nothing".into()) } else { Ok(Vault::new(left)) }
}
"""


def test_results_holding_a_providers_objects(cell, providers):
    """A provider's `result` is `{tag, val}` as the cell's own; an error of the glue (a disposed object) is
    thrown, not mistaken for the provider's err."""
    cell("rust rs_vault", VAULT_RS)
    cell(
        "typescript ts_vault_user --use rs_vault",
        """
import { Vault, open } from "rs_vault";

export function opened(n: s64): string {
  const r = open(n);
  if (r.tag === "err") return `err ${r.val}`;
  const t = r.val.take(1n);
  return `ok ${t.tag} ${t.val} ${r.val instanceof Vault}`;
}

export function overdrawn(): string {
  const t = new Vault(1n).take(5n);
  return `${t.tag} ${t.val}`;
}

export function takenAfterDispose(): string {
  const v = new Vault(1n);
  v[Symbol.dispose]();
  return v.take(1n).tag;
}
""",
    )
    h = providers["ts_vault_user"]
    assert h.opened(3) == "ok ok 2 true"
    assert h.opened(-1) == "err a vault cannot hold less than nothing"
    assert h.overdrawn() == "err only 1 left"
    with pytest.raises(GuestTrap, match="rs_vault's Vault was disposed or given away"):
        h.taken_after_dispose()
    assert not resources._HOST_OBJECTS
