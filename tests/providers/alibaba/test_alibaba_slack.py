"""The Alibaba commands through Slack: signed requests into the Bolt app, the fake Slack Web API,
the sandbox in-process. Each command, and each documented state rule refusing before anyone is
asked to approve."""

from __future__ import annotations

import re

from alibaba_slack_support import Bot
from alibaba_support import ALLOCATED, CANCELED, CONFIRMED, INITIAL, NO_VBRS, REJECTED, TERMINATED, WITH_VBRS


async def test_list_filters_by_status_and_operator(bot: Bot) -> None:
    said = await bot.command("ali list status=Enabled operator=CT")
    assert WITH_VBRS in said and NO_VBRS in said
    assert CONFIRMED not in said and "2 physical connections in Enabled by CT" in said


async def test_show_gives_status_bandwidth_port_operator_access_point_and_times(bot: Bot) -> None:
    said = await bot.command(f"ali show {NO_VBRS}")
    expected = ("Enabled", "Normal", "10 Mbps", "10GBase-LR", "ap-cn-hangzhou-finance-yh-E", "longtel001",
                "pc-119mfjzm7", "2021-08-24T07:33:18Z", "2022-04-24T16:00:00Z", "cn-hangzhou")  # fmt: skip
    for value in expected:
        assert value in said, value


async def test_show_of_an_unknown_id_says_so_with_alibabas_code(bot: Bot) -> None:
    said = await bot.command("ali show pc-00000000000000000000")
    assert "InvalidPhysicalConnectionId.NotFound" in said and "`ali list`" in said


async def test_vbrs_lists_the_routers_on_a_connection(bot: Bot) -> None:
    said = await bot.command(f"ali vbrs {WITH_VBRS}")
    assert "vbr-2zecmmvg5gvu8i4te1bqm" in said and "VLAN 11" in said
    assert "No VBRs" in await bot.command(f"ali vbrs {NO_VBRS}")


async def test_a_new_user_applies_and_takes_a_connection_to_enabled_then_terminated(bot: Bot) -> None:
    await bot.command("ali create")
    view = bot.opened_view()
    assert {"access_point", "line_operator", "port_type", "bandwidth", "name"} <= {
        b.get("block_id") for b in view["blocks"]
    }
    before = set(bot.sim.connections)
    ack = await bot.submit(
        {"access_point": "ap-cn-beijing-ft-A", "line_operator": "CT", "peer_location": "Beijing DC1",
         "name": "beijing-primary", "bandwidth": "500", "region": "cn-beijing"}
    )  # fmt: skip
    assert ack.get("response_action") != "errors", ack
    request_id = _request_in(bot)
    card = await bot.approve(request_id)
    assert card["text"].endswith("succeeded"), card["text"]
    [pc_id] = set(bot.sim.connections) - before
    assert bot.sim.connections[pc_id].bandwidth == 500

    for _ in range(6):
        await bot.watch_round(21)
    thread = bot.thread(request_id)
    for status in ("Approved", "Allocating", "Allocated", "Confirmed"):
        assert status in thread, status

    enable = await bot.request(f"ali enable {pc_id}")
    assert (await bot.approve(enable))["text"].endswith("succeeded")
    assert bot.sim.connections[pc_id].status == "Enabled"
    await bot.watch_round(1)  # the watch, followed again after the change, is due at once
    terminate = await bot.request(f"ali terminate {pc_id}")
    assert (await bot.approve(terminate))["text"].endswith("succeeded")
    assert bot.sim.connections[pc_id].status == "Terminating"
    assert f"{pc_id} is now Terminating" in bot.thread(terminate)
    for _ in range(2):
        await bot.watch_round(16)
    assert bot.sim.connections[pc_id].status == "Terminated"
    # The create's watch followed every change, polled fast again once terminate began.
    followed = bot.thread(request_id)
    for change in ("Confirmed → *Enabled*", "Enabled → *Terminating*", "Terminating → *Terminated*"):
        assert change in followed, change


def _request_in(bot: Bot) -> str:
    """The id of the one request in the approvals channel."""
    [message] = [m for m in bot.slack.messages("CAPPROVALS") if m.get("thread_ts") in (None, m["ts"])]
    return re.search(r"R[A-Z2-7]{6}", message["text"]).group(0)


async def test_the_create_form_answers_bad_values_inline(bot: Bot) -> None:
    await bot.command("ali create")
    ack = await bot.submit(
        {"access_point": "ap-cn-beijing-ft-A", "line_operator": "CT", "peer_location": "Beijing",
         "name": "http://line", "bandwidth": "20000", "description": "x"}
    )  # fmt: skip
    errors = ack["errors"]
    assert "http://" in errors["name"] and "10240" in errors["bandwidth"] and "2–256" in errors["description"]
    assert bot.slack.messages("CAPPROVALS") == []


async def test_create_is_refused_with_five_applications_on_their_way(bot: Bot) -> None:
    line = "ali create access-point=ap-cn-beijing-ft-A line-operator=CT peer-location=Beijing"
    for _ in range(2):
        await bot.approve(await bot.request(line))
    said = await bot.command(line)
    assert "refused" in said and "5 connections are not yet Enabled" in said and "at most 5" in said


async def test_create_is_refused_while_a_connection_is_delinquent(bot: Bot) -> None:
    bot.sim.connections[NO_VBRS].business_status = "FinancialLocked"
    said = await bot.command(
        "ali create access-point=ap-cn-beijing-ft-A line-operator=CT peer-location=Beijing"
    )
    assert "refused" in said and "overdue payment" in said and NO_VBRS in said


async def test_modify_given_only_the_id_opens_its_form(bot: Bot) -> None:
    await bot.command(f"ali modify {CONFIRMED}")
    view = bot.opened_view()
    assert {"name", "description", "bandwidth", "port_type"} <= {b.get("block_id") for b in view["blocks"]}
    await bot.submit({"pc_id": CONFIRMED, "name": "shanghai-primary"})
    request_id = _request_in(bot)
    assert (await bot.approve(request_id))["text"].endswith("succeeded")
    assert bot.sim.connections[CONFIRMED].name == "shanghai-primary"


async def test_modify_of_a_rejected_application_sends_it_back_to_review(bot: Bot) -> None:
    request_id = await bot.request(f"ali modify {REJECTED} bandwidth=300")
    assert (await bot.approve(request_id))["text"].endswith("succeeded")
    assert (
        bot.sim.connections[REJECTED].status == "Initial" and bot.sim.connections[REJECTED].bandwidth == 300
    )


async def test_modify_refuses_a_spec_change_outside_initial_or_rejected(bot: Bot) -> None:
    said = await bot.command(f"ali modify {CONFIRMED} bandwidth=200")
    assert "refused" in said and "bandwidth can change only in Initial or Rejected" in said


async def test_modify_refuses_any_change_of_a_canceled_connection(bot: Bot) -> None:
    said = await bot.command(f"ali modify {CANCELED} name=again")
    assert "refused" in said and "nothing can change in Canceled" in said


async def test_cancel_runs_from_initial_and_is_refused_once_enabled(bot: Bot) -> None:
    said = await bot.command(f"ali cancel {NO_VBRS}")
    assert "refused" in said and "is Enabled" in said and "`ali terminate` ends it" in said
    request_id = await bot.request(f"ali cancel {INITIAL}")
    assert (await bot.approve(request_id))["text"].endswith("succeeded")
    assert bot.sim.connections[INITIAL].status == "Canceled"
    tokens = [token for _, token in bot.sim._tokens]
    assert tokens == [f"circuitbot-{request_id}"], "the change carried its request's ClientToken"


async def test_enable_is_refused_unless_confirmed(bot: Bot) -> None:
    said = await bot.command(f"ali enable {ALLOCATED}")
    assert "refused" in said and "enable works only from Confirmed" in said


async def test_terminate_is_refused_while_vbrs_are_left_then_runs_once_they_are_gone(bot: Bot) -> None:
    said = await bot.command(f"ali terminate {WITH_VBRS}")
    assert "refused" in said and "still has 2 VBR(s)" in said and f"`ali vbrs {WITH_VBRS}`" in said
    bot.sim.delete_vbrs(WITH_VBRS)
    request_id = await bot.request(f"ali terminate {WITH_VBRS}")
    assert (await bot.approve(request_id))["text"].endswith("succeeded")
    assert bot.sim.connections[WITH_VBRS].status == "Terminating"


async def test_terminate_is_refused_unless_enabled(bot: Bot) -> None:
    said = await bot.command(f"ali terminate {CONFIRMED}")
    assert "refused" in said and "terminate works only from Enabled" in said


async def test_delete_runs_from_a_final_state_and_is_refused_elsewhere(bot: Bot) -> None:
    said = await bot.command(f"ali delete {NO_VBRS}")
    assert (
        "refused" in said
        and "delete works only from Rejected, Canceled, AllocationFailed or Terminated" in said
    )
    request_id = await bot.request(f"ali delete {TERMINATED}")
    assert (await bot.approve(request_id))["text"].endswith("succeeded")
    assert TERMINATED not in bot.sim.connections


async def test_create_is_refused_with_a_redundant_connection_not_yet_allocated(bot: Bot) -> None:
    said = await bot.command(
        f"ali create ap-cn-beijing-ft-A line-operator=CT peer-location=Beijing redundant-id={INITIAL}"
    )
    assert "refused" in said and "must be Allocated, Confirmed or Enabled; it is Initial" in said
    assert bot.slack.messages("CAPPROVALS") == []
