"""The billing run under failure: a crash at any one of its DynamoDB writes, then a rerun, leaves exactly
what one uninterrupted run leaves (the same invoices, credits applied once, one email per invoice, the
periods moved once); and a workspace that cannot be billed is reported without stopping the others."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from unittest.mock import patch

import pytest
from botocore.client import BaseClient

from nudge import clock, workspaces
from nudge.billing import catalog, credits, invoicing, metering
from nudge.billing import details as billing_details
from nudge.billing.invoice_email import SYSTEM_PERSON
from nudge.delivery import records
from nudge.model import Workspace
from nudge.model.billing import Credit
from tests.support.aws import mocked_account
from tests.support.deliveries import delivery

OCT_15 = int(datetime(2026, 10, 15, 12, tzinfo=UTC).timestamp())
SEP_15 = int(datetime(2026, 9, 15, 12, tzinfo=UTC).timestamp())
FIRST_RUN = date(2026, 10, 1)  # before the crash: Acme's opening and September invoices
RUN = date(2026, 12, 1)  # the run that crashes: Acme's October (with credits) and November, Newco opened
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


class Crash(BaseException):
    """The process dying mid-run: a BaseException, so no ``except`` in the code under test stops it."""


@contextmanager
def crash_at(write: int | None, *, after: bool = False) -> Iterator[list[str]]:
    """Count every DynamoDB write of every client; the ``write``-th (from 1) crashes the process, either
    before DynamoDB receives it or ``after`` it was applied (its answer lost). Yields the writes seen."""
    seen: list[str] = []
    original = BaseClient._make_api_call

    def call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation not in WRITES:
            return original(client, operation, params)
        seen.append(operation)
        crashing = len(seen) == write
        if crashing and not after:
            raise Crash(f"before write {write} ({operation})")
        answer = original(client, operation, params)
        if crashing:
            raise Crash(f"after write {write} ({operation})")
        return answer

    with patch.object(BaseClient, "_make_api_call", call):
        yield seen


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    current = {"t": SEP_15}
    monkeypatch.setattr(clock, "now", lambda: current["t"])
    return current


def _names() -> dict[str, str]:
    return {w.workspace_id: w.name for w in Workspace.scan()}


def _normalized(value: Any, names: dict[str, str]) -> str:
    """``value`` as JSON with every workspace id replaced by its name (ids are random per account)."""
    text = json.dumps(value, sort_keys=True)
    for workspace_id, name in names.items():
        text = text.replace(workspace_id, name)
    return text


def snapshot() -> dict[str, Any]:
    """Everything billing left, per workspace name: invoices as stored, credits and what applied them,
    the invoice emails queued (with the invoice each carries), the open period."""
    names = _names()
    found: dict[str, Any] = {}
    for workspace_id, name in names.items():
        queued, _ = records.for_person(workspace_id, SYSTEM_PERSON, limit=100, start=None)
        period = invoicing.current_period(workspaces.load(workspace_id))
        found[name] = {
            "invoices": _normalized(invoicing.invoices(workspace_id), names),
            "credits": sorted(
                (c.reason, _normalized(c.applied_to, names))
                for c in Credit.query(invoicing.credits_pk(workspace_id))
            ),
            "emails": sorted(
                _normalized(records.request_of(delivery(workspace_id, d["id"]))["message_data"], names)
                for d in queued
            ),
            "period": (period.starts, int(period.people_start), int(period.objects_start)),
        }
    return found


def prepare(now: dict[str, int]) -> None:
    """Acme billed once (opening and September), then credited twice and joined by three people in
    October; Newco, starting on 2026-10-20, never billed. Both have an invoice contact."""
    now["t"] = SEP_15
    acme = workspaces.create_workspace("Acme", "essentials", "2026-09-01").workspace_id
    billing_details.update_billing_details(acme, invoice_contact="bills@acme.example")
    invoicing.run(FIRST_RUN).raise_if_incomplete()
    newco = workspaces.create_workspace("Newco", "essentials", "2026-10-20").workspace_id
    billing_details.update_billing_details(newco, invoice_contact="bills@newco.example")
    now["t"] = OCT_15
    september = f"inv_{acme}_2026-09-01"
    credits.add_credit(acme, september, 10_00, "outage on Sep 20")
    now["t"] += 60  # an invoice lists its credits oldest first
    credits.add_credit(acme, september, 5_00, "goodwill")
    for i in range(3):
        metering.created(acme, metering.Subject("people", f"p{i}", f"cio-{i}"))


def in_new_account(now: dict[str, int], act: Callable[[], None]) -> dict[str, Any]:
    with mocked_account():
        prepare(now)
        act()
        return snapshot()


def test_a_crash_at_any_write_of_the_run_then_a_rerun_bills_exactly_once(now: dict[str, int]) -> None:
    def run_once() -> None:
        invoicing.run(RUN).raise_if_incomplete()

    with mocked_account():
        prepare(now)
        with crash_at(None) as writes:
            run_once()
        expected = snapshot()
    # Acme's October and November, Newco's opening and first period: each an invoice, its email (the
    # message's listing item, then the delivery: #17 moved the listing keys off the delivery), a period.
    assert len(writes) == 16
    acme = expected["Acme"]
    assert acme["invoices"].count("Credit: ") == 2 and len(acme["emails"]) == 4

    for after in (False, True):
        for write in range(1, len(writes) + 1):

            def crash_then_rerun(write: int = write, after: bool = after) -> None:
                with pytest.raises(Crash), crash_at(write, after=after):
                    run_once()
                run_once()

            assert in_new_account(now, crash_then_rerun) == expected, (write, "after" if after else "before")


def test_a_crash_opening_the_first_period_from_the_usage_estimate_still_invoices_its_base_fee(
    now: dict[str, int],
) -> None:
    # GET /v1/billing/usage (and `nudge billing usage`) open the first period when nothing has yet.
    def newco() -> Workspace:
        (found,) = [w for w in Workspace.scan() if w.name == "Newco"]
        return found

    def estimate_then_run() -> None:
        invoicing.current_period(newco())
        invoicing.run(RUN).raise_if_incomplete()

    with mocked_account():
        prepare(now)
        with crash_at(None) as writes:
            invoicing.current_period(newco())
        opening_writes = len(writes)
        invoicing.run(RUN).raise_if_incomplete()
        expected = snapshot()
    assert opening_writes == 4  # the opening invoice, its email's listing item and delivery, the period
    assert "2026-10-20-opening" in expected["Newco"]["invoices"]

    for after in (False, True):
        for write in range(1, opening_writes + 1):

            def crash_then_run(write: int = write, after: bool = after) -> None:
                with pytest.raises(Crash), crash_at(write, after=after):
                    invoicing.current_period(newco())
                invoicing.run(RUN).raise_if_incomplete()

            assert in_new_account(now, crash_then_run) == expected, (write, "after" if after else "before")
            assert in_new_account(now, estimate_then_run) == expected


def test_an_invoice_deducts_at_most_99_credits_and_the_next_one_the_rest(
    account: None, now: dict[str, int]
) -> None:
    # The invoice and the credits it applies are one transaction, which DynamoDB caps at 100 writes.
    acme = workspaces.create_workspace("Acme", "essentials", "2026-09-01").workspace_id
    invoicing.run(FIRST_RUN).raise_if_incomplete()
    now["t"] = OCT_15
    for i in range(invoicing.MAX_CREDITS_PER_INVOICE + 1):
        credits.add_credit(acme, f"inv_{acme}_2026-09-01", 1, f"credit {i}")

    invoicing.run(date(2026, 12, 1)).raise_if_incomplete()

    def credit_lines(invoice_id: str) -> int:
        invoice = invoicing.invoice(acme, invoice_id)
        assert invoice is not None
        return sum(line["description"].startswith("Credit: ") for line in invoice["lines"])

    assert credit_lines(f"inv_{acme}_2026-10-01") == 99
    assert credit_lines(f"inv_{acme}_2026-11-01") == 1
    assert all(c.applied_to for c in Credit.query(invoicing.credits_pk(acme)))


# One workspace that cannot be billed


@pytest.fixture
def without_premium(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Switch to a catalog that has lost the premium plan; calling the result restores the default."""
    data = json.loads(catalog.DEFAULT_CATALOG.read_text())
    del data["plans"]["premium"]
    custom = tmp_path / "catalog.json"
    custom.write_text(json.dumps(data))

    def restore() -> None:
        monkeypatch.delenv("NUDGE_BILLING_CATALOG", raising=False)
        catalog.load.cache_clear()

    monkeypatch.setenv("NUDGE_BILLING_CATALOG", str(custom))
    catalog.load.cache_clear()
    yield restore
    restore()


@pytest.fixture
def stranded(account: None, now: dict[str, int]) -> tuple[list[str], str]:
    """Three Essentials workspaces, and one on Premium: all starting on 2026-09-01."""
    good = [
        workspaces.create_workspace(f"Good {i}", "essentials", "2026-09-01").workspace_id for i in range(3)
    ]
    premium = workspaces.create_workspace("Premium", "premium", "2026-09-01").workspace_id
    return good, premium


def test_a_workspace_whose_plan_left_the_catalog_does_not_stop_the_others(
    stranded: tuple[list[str], str], without_premium: Callable[[], None]
) -> None:
    good, premium = stranded

    result = invoicing.run(FIRST_RUN)

    assert sorted(result.issued) == sorted(
        f"inv_{ws}_{period}" for ws in good for period in ("2026-09-01-opening", "2026-09-01")
    )
    assert result.failed == {premium: "UnknownPlan: plan 'premium' is not in the billing catalog"}
    assert invoicing.invoices(premium) == []
    with pytest.raises(invoicing.WorkspacesNotBilled, match=f"1 workspace\\(s\\) not billed: {premium} "):
        result.raise_if_incomplete()
    # Once the plan is back, the next run bills it, and nobody else again.
    without_premium()
    again = invoicing.run(FIRST_RUN)
    assert (again.issued, again.failed) == (
        [f"inv_{premium}_2026-09-01-opening", f"inv_{premium}_2026-09-01"],
        {},
    )


def test_the_cli_prints_what_it_billed_and_names_in_one_line_what_it_could_not(
    stranded: tuple[list[str], str],
    without_premium: Callable[[], None],
    capsys: pytest.CaptureFixture[str],
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nudge_tools import cli

    good, premium = stranded
    monkeypatch.chdir(tmp_path)  # no local runtime's contract here: the mocked account it is

    code = cli.main(["billing", "run", "--at", "2026-10-01", "--json"])

    out, err = capsys.readouterr()
    assert code == 2
    printed = json.loads(out)
    assert len(printed["invoices"]) == 2 * len(good)
    assert list(printed["not_billed"]) == [premium]
    assert err.splitlines() == [
        f"nudge: 1 workspace(s) not billed: {premium} "
        "(UnknownPlan: plan 'premium' is not in the billing catalog)"
    ]


# The billing function


@pytest.fixture
def billing_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    from functions.billing import handler

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)  # the local runtime sets it
    registered = handler.logger.registered_handler
    assert isinstance(registered, logging.StreamHandler)
    stream = io.StringIO()
    previous = registered.setStream(stream)
    try:
        yield stream
    finally:
        registered.setStream(previous)


def _invoke(at: str) -> dict[str, Any]:
    from functions.billing import handler
    from nudge_tools.local.apigw import LocalContext

    return dict(handler.handler({"time": at, "source": "aws.events"}, LocalContext("nudge-billing")))


def _not_billed_metric(printed: str) -> list[float]:
    """The values of the WorkspacesNotBilled metric in the EMF documents printed."""
    values: list[float] = []
    for line in printed.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            (directive,) = document["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == "Nudge" and directive["Dimensions"] == [[]]
            if "WorkspacesNotBilled" in document:
                values += document["WorkspacesNotBilled"]
    return values


def test_the_function_logs_and_counts_the_workspaces_it_could_not_bill_then_fails(
    stranded: tuple[list[str], str],
    without_premium: Callable[[], None],
    billing_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good, premium = stranded

    with pytest.raises(invoicing.WorkspacesNotBilled):
        _invoke("2026-10-01T00:05:00Z")

    assert _not_billed_metric(capsys.readouterr().out) == [1.0]
    errors = [json.loads(line) for line in billing_logs.getvalue().splitlines() if line.startswith("{")]
    assert [(e["message"], e["workspace_id"], e["level"]) for e in errors] == [
        ("workspace not billed", premium, "ERROR")
    ]
    assert "UnknownPlan" in errors[0]["reason"]
    assert all(len(invoicing.invoices(ws)) == 2 for ws in good)  # billed all the same


def test_the_function_counts_zero_when_every_workspace_was_billed(
    stranded: tuple[list[str], str], billing_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = _invoke("2026-10-01T00:05:00Z")

    assert answer["at"] == "2026-10-01" and len(answer["invoices"]) == 8
    assert _not_billed_metric(capsys.readouterr().out) == [0.0]
