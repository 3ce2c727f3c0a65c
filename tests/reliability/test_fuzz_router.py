"""Fuzzing the router with hypothesis: command texts for every verb (random arguments, unicode,
long lines, Slack markup), modal submissions (the bot's own forms with forged values, other
requests' ids, garbage) and button payloads (forged values, other requests' ids, garbage).

Seeded and bounded (``derandomize``, a few hundred examples in all) so CI sees the same inputs
every run. Each example must keep four properties: no unhandled exception (nothing logged at
ERROR with a traceback), every reply, message and form valid Block Kit within Slack's limits,
no ping said on a user's behalf, and no write at a provider without an approver's approval.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reliability_support import PINGS, Driver, Shown, assert_well_formed

from circuitbot.approvals.status import RequestStatus
from circuitbot.bootstrap import build_registry
from circuitbot.chat import modals
from circuitbot.providers import catalog
from circuitbot.sandbox.world import World

FUZZ = settings(
    derandomize=True,
    deadline=None,
    max_examples=80,
    # one runtime serves every example (state builds up, as in a long-running bot); long texts
    # are the point, and the machine is shared: none of these is a fault of the test
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
REGISTRY = build_registry()
KEYS = [k for spec in catalog.PROVIDERS for k in spec.sample_ids(World.demo()).present[:2]]
USERS = ["UREQ", "UREQ2", "UAPP1", "UAPP2", "UADMIN", "UREADER"]
APPROVERS = {"UAPP1", "UAPP2", "UADMIN"}  # admins may approve too (policy)
MARKUP = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^SVICTIM>",
    "<@UVICTIM>",
    "<@WVICTIM|boss>",
    "x<@UVICTIM>y",
    "<#C1|x>",
    "<https://evil.example|click>",
    "```",
    "```x```",
    "&amp;",
    "&lt;!channel&gt;",
    "*bold*",
    "`tick",
    "'",
    '"',
    "\\",
]
VERB_WORDS = sorted(
    {f"{op.provider} {word}" if op.provider else word for op in REGISTRY for word in op.words}
    | {f"{alias} {op.verb}" for op in REGISTRY if op.provider for alias in catalog.aliases_of(op.provider)}
)
OPTION_NAMES = sorted({name.replace("_", "-") for op in REGISTRY for name in op.params.model_fields})

token = st.one_of(
    st.sampled_from(MARKUP),
    st.sampled_from(KEYS),
    st.text(max_size=30),
    st.from_regex(r"R[A-Z2-7]{6}", fullmatch=True),
    st.integers(-(10**20), 10**20).map(str),
    st.builds(lambda n, v: f"{n}={v}", st.sampled_from(OPTION_NAMES), st.sampled_from(MARKUP + KEYS)),
)
line = st.one_of(
    st.builds(
        lambda verb, args: " ".join([verb, *args]), st.sampled_from(VERB_WORDS), st.lists(token, max_size=8)
    ),
    st.builds(
        lambda verb, pad: f"{verb} {pad}", st.sampled_from(VERB_WORDS), st.text(min_size=1000, max_size=5000)
    ),
    st.text(max_size=200),
)
garbage = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", "{", "[]", "null", "5", '"x"', '{"op": 5}', '{"text": {"page": 1}}', "{}" * 2000]),
)


def no_traceback_logged(caplog: pytest.LogCaptureFixture) -> None:
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert failed == [], failed[0].getMessage() if failed else ""


def assert_no_ping(shown: Shown, driver: Driver) -> None:
    everything = shown.text + "\n" + driver.poster.everything() + json.dumps(shown.modals)
    assert not PINGS.search(everything), PINGS.search(everything)


APPROVED_ONCE = {
    RequestStatus.APPROVED,
    RequestStatus.EXECUTING,
    RequestStatus.SUCCEEDED,
    RequestStatus.FAILED,
    RequestStatus.NEEDS_ATTENTION,
}


async def assert_writes_only_after_approval(driver: Driver) -> None:
    """A write at a provider means an approver other than the requester approved a request."""
    if not driver.provider_writes():
        return
    approvals = driver.runtime.approvals
    assert approvals is not None
    rows = [row for row, _ in (await approvals.requests("all", per_page=1000))[0]]
    approved = [row for row in rows if row.status in APPROVED_ONCE]
    assert approved, f"writes without any approved request: {driver.provider_writes()}"
    for row in approved:
        assert row.decided_by in APPROVERS and row.decided_by != row.requester, row


async def check(shown: Shown, driver: Driver, caplog: pytest.LogCaptureFixture) -> None:
    """Every property but the pings, which have a test of their own (below)."""
    no_traceback_logged(caplog)
    assert_well_formed(shown, driver.poster)
    await assert_writes_only_after_approval(driver)


# --- commands -------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=150)
@example(text=f"az notes {KEYS[0]} a & b <!channel> \x00", user="UREQ")
@example(text="az notes " + "é" * 5000, user="UREQ")
@example(text='show azure "unclosed', user="UREADER")
@example(text=f"watch az {KEYS[0]} <#C1|x>", user="UREQ")
@example(text=f"az peering {KEYS[0]} shared-key=```", user="UAPP1")
@given(text=line, user=st.sampled_from(USERS))
async def test_any_command_text_is_answered_within_slacks_limits(
    driver: Driver, caplog: pytest.LogCaptureFixture, text: str, user: str
) -> None:
    caplog.set_level(logging.WARNING)
    shown = await driver.command(text, user=user)
    assert shown.said or shown.modals, f"{text!r} got no answer"
    await check(shown, driver, caplog)


# --- modal submissions ----------------------------------------------------------------------------


def forms() -> list[str]:
    """Command lines that open the bot's generated form: each mutating verb without arguments."""
    return [f"{op.provider} {op.verb}" for op in REGISTRY if op.mutating]


def fill(view: dict[str, Any], values: list[str]) -> dict[str, Any]:
    """The form as Slack submits it, each input given the next of ``values``."""
    state: dict[str, Any] = {}
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    for block, value in zip(inputs, values, strict=False):
        kind = block["element"]["type"]
        element = (
            {"type": kind, "selected_option": {"value": value}}
            if kind == "static_select"
            else {"type": kind, "value": value}
        )
        state[block["block_id"]] = {modals.ACTION_ID: element}
    return dict(view, state={"values": state})


metadata = st.one_of(
    st.none(),  # the form's own
    garbage,
    st.builds(
        lambda op, channel: json.dumps({"op": op, "channel": channel, "text": "<!channel>"}),
        st.sampled_from([*(op.name for op in REGISTRY), "azure.nope", ""]),
        st.sampled_from(["CGENERAL", "CAPPROVALS", "<!channel>", None]),
    ),
    st.from_regex(r"R[A-Z2-7]{6}", fullmatch=True).map(lambda r: json.dumps({"request_id": r})),
)


@settings(FUZZ, max_examples=100)
@example(form="azure notes", values=[], meta="[]", callback=modals.CALLBACK_ID, user="UREQ")
@example(form="azure move", values=["x"], meta="null", callback="approval_reject", user="UAPP1")
@given(
    form=st.sampled_from(forms()),
    values=st.lists(st.one_of(token, st.text(max_size=3000)), max_size=12),
    meta=metadata,
    callback=st.sampled_from([modals.CALLBACK_ID, modals.CALLBACK_ID, "approval_reject", "nope", ""]),
    user=st.sampled_from(USERS),
)
async def test_any_modal_submission_is_answered_within_slacks_limits(
    driver: Driver,
    caplog: pytest.LogCaptureFixture,
    form: str,
    values: list[str],
    meta: str | None,
    callback: str,
    user: str,
) -> None:
    caplog.set_level(logging.WARNING)
    [view] = (await driver.command(form, user="UREQ")).modals
    submitted = fill(view, values)
    submitted["callback_id"] = callback
    if meta is not None:
        submitted["private_metadata"] = meta

    shown, acked = await driver.submit(submitted, user=user)

    assert acked[0] is None or all(isinstance(v, str) and len(v) <= 150 for v in acked[0].values())
    await check(shown, driver, caplog)


# --- buttons --------------------------------------------------------------------------------------


async def some_request(driver: Driver) -> str:
    """A pending request's id (a new one once the last was decided: other requests' ids to forge)."""
    approvals = driver.runtime.approvals
    assert approvals is not None
    pending = (await approvals.requests("pending"))[0]
    if pending:
        return pending[0][0].id
    made = len((await approvals.requests("all"))[0])
    shown = await driver.command(f"az notes {KEYS[0]} 'fuzzed note {made}'", user="UREQ")
    rows = (await approvals.requests("pending"))[0]
    assert rows, shown.text
    return rows[0][0].id


@settings(FUZZ, max_examples=100)
@example(action="circuit_page", value='{"text": "az notes x y", "page": 1}', user="UREQ")
@example(action="circuit_page", value='{"text": "approvals all", "page": 99999999999999999999}', user="UREQ")
@example(action="approval:approve", value="<the request>", user="UAPP1")
@example(action="approval:reject", value="<the request>", user="UAPP2")
@given(
    action=st.sampled_from(
        [
            "approval:approve",
            "approval:reject",
            "approval:cancel",
            "approval:nope",
            "circuit_page",
            "nope",
            "",
        ]
    ),
    value=st.one_of(
        st.just("<the request>"),
        st.from_regex(r"R[A-Z2-7]{6}", fullmatch=True),
        garbage,
        st.builds(
            lambda text, page: json.dumps({"text": text, "page": page}),
            line,
            st.one_of(st.integers(-5, 10**30), st.text(max_size=5)),
        ),
    ),
    user=st.sampled_from(USERS),
)
async def test_any_button_payload_is_answered_within_slacks_limits(
    driver: Driver, caplog: pytest.LogCaptureFixture, action: str, value: str, user: str
) -> None:
    caplog.set_level(logging.WARNING)
    if value == "<the request>":
        value = await some_request(driver)

    shown = await driver.click(action, value, user)

    await check(shown, driver, caplog)


# --- pings ----------------------------------------------------------------------------------------

ISSUE_LINE = f"az notes {KEYS[0]} <!channel> hi <@UVICTIM> ```x``` <https://evil.example|click>"
marked_up = st.lists(st.sampled_from(MARKUP), min_size=1, max_size=4).map(" ".join)


@settings(FUZZ, max_examples=30)
@given(
    text=st.one_of(
        st.just(ISSUE_LINE),
        st.builds(
            lambda verb, key, extra: f"{verb} {key} '{extra}'",
            st.sampled_from(VERB_WORDS),
            st.sampled_from(KEYS),
            marked_up,
        ),
        st.builds(lambda verb, extra: f"{verb} {extra}", st.sampled_from(VERB_WORDS), marked_up),
    )
)
async def test_text_a_user_typed_never_pings_anyone(
    driver: Driver, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    shown = await driver.command(text, user="UREQ")
    assert_no_ping(shown, driver)
