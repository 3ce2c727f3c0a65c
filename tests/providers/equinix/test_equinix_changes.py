"""Equinix changes through approvals, on both generations: a delete and an order (the create
form) requested, approved, executed once, and watched to PROVISIONED and DEPROVISIONED;
refusals before anyone approves."""

from __future__ import annotations

from equinix_support import AZURE_PROFILE, EUAP_NEW_KEY, FABRIKAM_PRIMARY, Bot, request_id_in

from circuitbot.sandbox.faults import FaultConfig, QueuedFault


async def tick_until_quiet(bot: Bot, rounds: int = 10) -> None:
    """Poll the watches as time passes, until none is left in flight."""
    fast = bot.runtime.settings.watch.fast_interval_seconds
    for _ in range(rounds):
        await bot.clock.advance(fast + 1)
        await bot.clock.run_until(bot.runtime.watches.tick())
    await bot.deliver()


def dc_ports(bot: Bot) -> tuple[str, str]:
    primary, secondary = [p.uuid for p in bot.sim.state.ports.values() if p.metro == "DC"]
    return primary, secondary


async def test_a_delete_through_an_approval_is_watched_to_deprovisioned(bot: Bot) -> None:
    request_id = await bot.request(f"eqx delete {FABRIKAM_PRIMARY}")
    row = await bot.row(request_id)
    assert row.preview["summary"] == "delete Equinix connection Fabrikam-SV-ER-PRI"
    assert ["providerStatus", "AVAILABLE", "DEPROVISIONED"] in row.preview["changes"]
    assert bot.sim.connection(FABRIKAM_PRIMARY)["state"] == "PROVISIONED", (
        "nothing changes before the approval"
    )

    approved = await bot.approve(request_id)

    assert "You approved" in approved.text
    row = await bot.row(request_id)
    assert row.status == "succeeded", row.error
    assert bot.sim.connection(FABRIKAM_PRIMARY)["state"] == "DEPROVISIONING"
    [watch] = await bot.runtime.watches.list_watches()
    assert (watch.provider, watch.resource_id) == ("equinix", FABRIKAM_PRIMARY)
    await tick_until_quiet(bot)
    thread = bot.thread_text(row)
    assert "Deleting Fabrikam-SV-ER-PRI" in thread
    assert "DEPROVISIONED" in bot.poster.everything()
    assert await bot.runtime.watches.list_watches() == [], "the watch ends at DEPROVISIONED"


async def test_a_delete_whose_answer_is_lost_is_retried_and_still_succeeds(bot: Bot) -> None:
    request_id = await bot.request(f"eqx delete {FABRIKAM_PRIMARY}")
    bot.sim.faults = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", method="DELETE")])
    await bot.approve(request_id)
    row = await bot.row(request_id)
    assert row.status == "succeeded", row.error
    assert bot.sim.connection(FABRIKAM_PRIMARY)["state"] == "DEPROVISIONING"


async def test_a_delete_of_a_connection_already_deprovisioning_is_refused(bot: Bot) -> None:
    await bot.clock.run_until(bot.client.delete(FABRIKAM_PRIMARY))
    said = (await bot.command(f"eqx delete {FABRIKAM_PRIMARY}")).text
    assert "refused" in said and "DEPROVISIONING" in said


async def test_a_delete_refused_when_the_connection_changed_since_the_preview(bot: Bot) -> None:
    request_id = await bot.request(f"eqx delete {FABRIKAM_PRIMARY}")
    await bot.clock.run_until(bot.client.delete(FABRIKAM_PRIMARY))  # someone else was quicker
    await bot.approve(request_id)
    row = await bot.row(request_id)
    assert row.status == "failed" and "changed since the request was reviewed" in (row.error or "")


def order_values(bot: Bot, **changes: str) -> dict[str, str]:
    primary, secondary = dc_ports(bot)
    values = {
        "name": "Contoso-DC-ER",
        "port": primary,
        "vlan": "901",
        "profile": AZURE_PROFILE,
        "metro": "DC",
        "speed": "200",
        "key": EUAP_NEW_KEY,
        "peering": "PRIVATE",
        "notifications": "noc@contoso.example",
        "secondary_port": secondary,
        "secondary_vlan": "902",
    }
    values.update(changes)
    return values


async def test_create_opens_a_form_with_choices_and_an_approved_order_is_watched_to_provisioned(
    bot: Bot,
) -> None:
    opened = await bot.command("eqx create")
    [form] = opened.modals
    assert "loading choices" in str(form["blocks"])
    [filled] = opened.updated_modals
    port_block = next(b for b in filled["blocks"] if b.get("block_id") == "port")
    assert {o["value"] for o in port_block["element"]["options"]} == set(bot.sim.state.ports)
    profile_block = next(b for b in filled["blocks"] if b.get("block_id") == "profile")
    assert "Azure Express Route" in str(profile_block)

    errors, submitted = await bot.submit(filled, order_values(bot))
    assert errors is None
    request_id = request_id_in(submitted.text)
    row = await bot.row(request_id)
    assert row.preview["summary"] == "order Equinix connection Contoso-DC-ER"
    assert any("Authorization key provided is valid" in note for note in row.preview["notes"])
    before = len(bot.sim.state.connections)

    await bot.approve(request_id)

    row = await bot.row(request_id)
    assert row.status == "succeeded", row.error
    made = [c for c in bot.sim.state.connections.values() if c.name.startswith("Contoso-DC-ER")]
    assert len(bot.sim.state.connections) == before + 2 and {c.vlan for c in made} == {901, 902}
    assert {c.key for c in made} == {EUAP_NEW_KEY}
    primary = next(c.uuid for c in made if c.priority == "PRIMARY")
    assert "Ordered Contoso-DC-ER" in bot.thread_text(row)
    [watch] = await bot.runtime.watches.list_watches()
    assert watch.resource_id == primary
    await tick_until_quiet(bot, rounds=3)
    [watch] = await bot.runtime.watches.list_watches()
    assert "PROVISIONED" in watch.snapshot.values() and "AVAILABLE" in watch.snapshot.values()
    assert "PROVISIONING → *PROVISIONED*" in bot.poster.everything()

    # and ordered, it can be deleted the same way, watched to its end
    delete_id = await bot.request(f"eqx delete {primary}")
    await bot.approve(delete_id)
    await tick_until_quiet(bot)
    assert bot.sim.connection(primary)["state"] == "DEPROVISIONED"


async def test_an_order_with_a_key_azure_did_not_issue_is_refused_before_approval(bot: Bot) -> None:
    opened = await bot.command("eqx create")
    errors, submitted = await bot.submit(
        opened.updated_modals[0], order_values(bot, key="11111111-2222-4333-8444-555555555555")
    )
    assert errors is None
    assert "not valid" in submitted.text and "Request `" not in submitted.text


async def test_azure_needs_a_redundant_pair(bot: Bot) -> None:
    opened = await bot.command("eqx create")
    values = order_values(bot)
    del values["secondary_port"], values["secondary_vlan"]
    _, submitted = await bot.submit(opened.updated_modals[0], values)
    assert "requires a redundant pair" in submitted.text


async def test_a_speed_the_profile_does_not_sell_is_refused(bot: Bot) -> None:
    opened = await bot.command("eqx create")
    _, submitted = await bot.submit(opened.updated_modals[0], order_values(bot, speed="300"))
    assert "300 Mbps is not one of them" in submitted.text


async def test_bad_form_values_come_back_inline(bot: Bot) -> None:
    opened = await bot.command("eqx create")
    errors, _ = await bot.submit(
        opened.updated_modals[0], order_values(bot, vlan="5000", notifications="nobody")
    )
    assert errors is not None and {"vlan", "notifications"} <= set(errors)


async def test_an_order_whose_answer_is_lost_is_found_not_ordered_twice(bot: Bot) -> None:
    opened = await bot.command("eqx create")
    _, submitted = await bot.submit(opened.updated_modals[0], order_values(bot))
    request_id = request_id_in(submitted.text)
    path = "/fabric/v4/connections$" if bot.client.api_version == "v4" else "/ecx/v3/l2/connections$"
    bot.sim.faults = FaultConfig(fail_next=[QueuedFault(kind="process_then_drop", method="POST", path=path)])

    await bot.approve(request_id)

    row = await bot.row(request_id)
    made = [c for c in bot.sim.state.connections.values() if c.name.startswith("Contoso-DC-ER")]
    assert row.status == "succeeded", row.error
    assert sorted(c.name for c in made) == ["Contoso-DC-ER", "Contoso-DC-ER-SEC"], "each leg ordered once"
    assert len({c.group for c in made}) == 1
