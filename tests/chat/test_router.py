"""The command path: parse → ack → authorize → run → reply, with audit rows and modals."""

from __future__ import annotations

import asyncio
import json

from chat_support import Acks, Circuits, RecordingSurface
from sqlalchemy import select

from circuitbot.actions.registry import Interaction, Role
from circuitbot.chat.router import Router
from circuitbot.store.tables import AuditEvent


async def run(router: Router, text: str, user: str = "UREQ") -> tuple[Acks, RecordingSurface]:
    acks, surface = Acks(), RecordingSurface(user_id=user)
    await router.handle_command(text, user_id=user, channel_id="CGENERAL", surface=surface, ack=acks)
    return acks, surface


async def test_help_answers_inside_the_ack_with_every_verb(router: Router) -> None:
    acks, surface = await run(router, "help")
    assert len(acks.replies) == 1 and surface.replies == []
    text = acks.replies[0].text
    for verb in ("help", "list", "show", "demo list", "demo notes", "demo peering"):
        assert f"`{verb}`" in text
    assert "demo notes` :lock:" in text


async def test_help_is_filtered_by_role(runtime, router: Router) -> None:
    runtime.settings.requesters = ["UREQ"]
    acks, _ = await run(router, "help", user="UREADER")
    text = acks.replies[0].text
    assert "`demo list`" in text
    assert "demo notes" not in text and "demo peering" not in text


async def test_help_topic_shows_usage_and_fields(router: Router) -> None:
    acks, _ = await run(router, "help demo peering")
    text = acks.replies[0].text
    assert "`/circuit demo peering <key> [vlan=… shared-key=… kind=…]`" in text
    assert "VLAN id" in text and "Needs 1 approval" in text


async def test_unknown_verb_gets_error_and_usage_not_a_traceback(router: Router) -> None:
    acks, surface = await run(router, "bogus")
    assert acks.replies[0].text.startswith(":warning: unknown command `bogus`")
    assert "Usage: `/circuit help [topic]`" in acks.replies[0].text
    assert surface.replies == []  # nothing follows an error ack
    acks, _ = await run(router, "demo frobnicate")
    assert "unknown demo verb `frobnicate`" in acks.replies[0].text
    assert "verbs: list, notes, peering" in acks.replies[0].text


async def test_bad_arguments_are_answered_in_the_ack(router: Router) -> None:
    acks, surface = await run(router, "demo list here there")
    assert "unexpected argument(s): there" in acks.replies[0].text
    acks, _ = await run(router, "demo list state=Sideways")
    assert "state:" in acks.replies[0].text and "'Sideways'" in acks.replies[0].text
    acks, _ = await run(router, "demo list colour=red")
    assert "unknown option colour=" in acks.replies[0].text
    assert surface.replies == []


async def test_slow_read_acks_working_then_replies_and_audits(runtime, router: Router) -> None:
    acks, surface = await run(router, "demo ls")
    assert "working on `demo ls`" in acks.replies[0].text
    assert surface.replies[0].text.startswith("page 1 of 3")
    async with runtime.db.session() as session:
        rows = (await session.scalars(select(AuditEvent))).all()
    assert [(r.actor, r.action, r.result, r.detail["operation"]) for r in rows] == [
        ("UREQ", "command", "ok", "demo.list")
    ]


async def test_provider_errors_are_shown_and_crashes_get_an_error_id(router: Router, caplog) -> None:
    _, surface = await run(router, "demo list nowhere")
    assert surface.replies[0].text == ":warning: no such location: nowhere"
    _, surface = await run(router, "demo list boom")
    assert "something went wrong running `demo.list` (error id" in surface.replies[0].text
    assert "provider exploded" in caplog.text


async def test_page_buttons_rerun_the_command_and_replace_the_message(router: Router) -> None:
    _, surface = await run(router, "demo list")
    actions = surface.replies[0].blocks[-1]
    next_button = actions["elements"][0]
    assert next_button["action_id"] == "circuit_page:next"
    acks = Acks()
    click = Interaction(action_id=next_button["action_id"], value=next_button["value"], channel_id="CGENERAL")
    await router.handle_action(click, user_id="UREQ", surface=surface, ack=acks)
    assert acks.replies == [None]
    page2 = surface.replies[-1]
    assert page2.replace and page2.text.startswith("page 2 of 3: circuit-051")
    assert json.loads(page2.blocks[-1]["elements"][0]["value"]) == {"text": "demo list", "page": 1}


async def test_mutating_command_with_all_params_goes_to_approvals(runtime, router: Router) -> None:
    acks, surface = await run(router, "demo notes 1234 moved to new rack, see ticket")
    assert "working on" in acks.replies[0].text
    _user, name, params = runtime.approvals.submitted[0]
    assert name == "demo.notes" and params.text == "moved to new rack, see ticket"
    assert surface.replies[0].text == "request for demo.notes created"


async def test_mutation_refused_without_the_requester_role(runtime, router: Router) -> None:
    runtime.settings.requesters = ["UREQ"]
    _, surface = await run(router, "demo notes 1234 hello", user="UREADER")
    assert "needs the requester role" in surface.replies[0].text
    assert runtime.approvals.submitted == []


async def test_missing_params_open_a_modal_then_fill_in_choices(router: Router) -> None:
    acks, surface = await run(router, "demo peering 1234")
    assert acks.replies == [None]
    view = surface.modals[0]
    assert view["callback_id"] == "circuit_op"
    blocks = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert blocks["key"]["element"]["initial_value"] == "1234"
    assert blocks["vlan"]["element"]["type"] == "number_input"
    assert "never shown again" in blocks["shared_key"]["hint"]["text"]
    assert any("loading choices" in str(b) for b in view["blocks"])
    view_id, updated = surface.updates[0]
    assert view_id == "V1"
    kinds = {b["block_id"]: b for b in updated["blocks"] if b["type"] == "input"}["kind"]
    assert [o["value"] for o in kinds["element"]["options"]] == ["private", "microsoft"]


def submission(view: dict, values: dict[str, dict]) -> dict:
    return {**view, "state": {"values": {k: {"value": v} for k, v in values.items()}}}


async def test_modal_submission_errors_inline_then_runs(runtime, router: Router) -> None:
    _, surface = await run(router, "demo peering 1234")
    view = surface.modals[0]
    errors: list = []

    async def ack_errors(e):
        errors.append(e)

    bad = submission(
        view,
        {
            "key": {"type": "plain_text_input", "value": "1234"},
            "vlan": {"type": "number_input", "value": "5000"},
        },
    )
    await router.handle_view(bad, user_id="UREQ", surface=surface, ack_errors=ack_errors)
    assert list(errors[0]) == ["vlan"] and "4094" in errors[0]["vlan"]
    assert runtime.approvals.submitted == []

    good = submission(
        view,
        {
            "key": {"type": "plain_text_input", "value": "1234"},
            "vlan": {"type": "number_input", "value": "100"},
            "shared_key": {"type": "plain_text_input", "value": "s3cret"},
            "kind": {"type": "static_select", "selected_option": {"value": "microsoft"}},
        },
    )
    await router.handle_view(good, user_id="UREQ", surface=surface, ack_errors=ack_errors)
    assert errors[1] is None
    _user, name, params = runtime.approvals.submitted[0]
    assert (name, params.vlan, params.kind) == ("demo.peering", 100, "microsoft")
    assert params.public_dump()["shared_key"] == "••••"


async def test_help_on_an_unknown_topic_is_answered_in_the_ack(router: Router) -> None:
    acks, surface = await run(router, "help bogus")
    assert acks.replies[0].text.startswith(":warning: no help topic `bogus`")
    assert surface.replies == []


async def test_the_neutral_list_pages_through_a_single_provider(router: Router) -> None:
    _, surface = await run(router, "list demo")
    assert surface.replies[0].text.startswith("page 1 of 3")
    next_button = surface.replies[0].blocks[-1]["elements"][0]
    click = Interaction(action_id=next_button["action_id"], value=next_button["value"], channel_id="CGENERAL")
    await router.handle_action(click, user_id="UREQ", surface=surface, ack=Acks())
    assert surface.replies[-1].replace and surface.replies[-1].text.startswith("page 2 of 3")


async def test_a_page_button_never_runs_a_mutation(router: Router) -> None:
    _, surface = await run(router, "demo list")
    next_button = surface.replies[0].blocks[-1]["elements"][0]
    click = Interaction(
        action_id="circuit_page:next", value=json.dumps({"text": "demo notes k hello", "page": 2})
    )
    await router.handle_action(click, user_id="UREQ", surface=surface, ack=Acks())
    assert surface.replies[-1] is surface.replies[0]  # a mutation is never re-run by a page button
    assert next_button["action_id"] == "circuit_page:next"


async def test_typed_secrets_are_masked_in_every_echo_however_they_were_quoted(
    runtime, router: Router
) -> None:
    for typed in ("shared-key=hun\\ ter2", 'shared-key="hun""ter2"', "shared_key='hun ter2'"):
        acks, _surface = await run(router, f"demo peering 1234 vlan=7 {typed}")
        ack = acks.replies[0].text
        assert "hun" not in ack and "ter2" not in ack, ack
        assert "shared-key=••••" in ack and "vlan=7" in ack
    _user, _name, params = runtime.approvals.submitted[-1]
    assert params.shared_key.get_secret_value() == "hun ter2"


async def test_help_never_waits_on_a_user_group_lookup(runtime, router: Router) -> None:
    runtime.settings.approvers = ["SAPPROVERS"]
    lookups: list[str] = []

    async def group_members(group: str) -> set[str]:
        lookups.append(group)
        return {"UGROUPIE"}

    runtime.roles.group_members = group_members
    acks, _ = await run(router, "help", user="UGROUPIE")
    assert acks.replies[0] is not None  # answered from what was known: the group is cold
    assert "approvals" in acks.replies[0].text
    # the look-up ran in the background, so the next answer knows the group
    await asyncio.sleep(0)
    assert lookups == ["SAPPROVERS"]
    caller = await router.caller("UGROUPIE", cached_only=True)
    assert caller.can(Role.APPROVER)


async def test_work_after_the_ack_waits_its_turn_but_acks_never_do(runtime, router: Router) -> None:
    from circuitbot.actions.registry import Operation

    runtime.settings.work_concurrency = 1
    router = Router(runtime)  # the slots are sized when the router is built
    release = asyncio.Event()
    started: list[str] = []

    async def hold(ctx, params):
        started.append(params.location or "")
        await release.wait()
        return ["circuit-001"]

    runtime.registry.add(
        Operation(provider="demo", verb="hold", summary="waits", params=Circuits, execute=hold, slow=True)
    )
    first_acks, second_acks = Acks(), Acks()
    first = asyncio.create_task(
        router.handle_command(
            "demo hold a", user_id="UREQ", channel_id="C", surface=RecordingSurface(), ack=first_acks
        )
    )
    second = asyncio.create_task(
        router.handle_command(
            "demo hold b", user_id="UREQ", channel_id="C", surface=RecordingSurface(), ack=second_acks
        )
    )
    for _ in range(20):
        await asyncio.sleep(0)
    assert first_acks.replies and second_acks.replies  # both acked at once
    assert started == ["a"]  # only one doing its work
    release.set()
    await asyncio.gather(first, second)
    assert started == ["a", "b"]
