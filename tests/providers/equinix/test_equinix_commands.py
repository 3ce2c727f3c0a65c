"""The Equinix reads through the Router, on the sandbox, on both API generations: what a
network engineer types and what the bot answers."""

from __future__ import annotations

from equinix_support import AZURE_PROFILE, FABRIKAM_KEY, FABRIKAM_PRIMARY, SEED_PORT, Bot


async def test_ports_list_metro_ibx_bandwidth_and_permission(bot: Bot) -> None:
    surface = await bot.command("eqx ports")
    assert "working on `eqx ports`" in surface.text
    said = surface.text
    assert "testSeller-MX2-NL-Qinq-BO-PRI-10G-JN-423" in said
    assert "MX (Mexico City) · IBX MX2" in said and "10 Gbps · QINQ · PRIMARY · may order: *yes*" in said


async def test_metros_show_what_each_reaches(bot: Bot) -> None:
    said = (await bot.command("eqx metros")).text
    assert "*AM* Amsterdam · EMEA · reaches LD, FR, PA" in said and "*TR* Toronto" in said


async def test_price_is_a_table_of_local_and_remote_per_speed(bot: Bot) -> None:
    said = (await bot.command(f"eqx price {SEED_PORT} sv 50 1000")).text
    assert "Price from MX to SV (USD)" in said
    local = "0.00 " if bot.client.api_version == "v3" else "—    "  # v4 quotes the remote price only
    assert f"50 Mbps  {local}  230.00" in said and f"1 Gbps   {local}  1,280.00" in said


async def test_profiles_and_one_profile(bot: Bot) -> None:
    said = (await bot.command("eqx profiles SV")).text
    assert "*Azure Express Route*" in said and "John-Doe Demo" in said
    assert "redundancy required: *yes*" in said
    one = (await bot.command(f"eqx profile {AZURE_PROFILE}")).text
    assert "metros: AM, SV, SE, DC, TR, MX" in one


async def test_validate_a_service_key(bot: Bot) -> None:
    said = (await bot.command(f"eqx validate {FABRIKAM_KEY} SV {AZURE_PROFILE} AMER")).text
    assert ":white_check_mark:" in said and "Authorization key provided is valid" in said


async def test_validate_an_unknown_key_says_it_is_not_valid(bot: Bot) -> None:
    unknown = "11111111-2222-4333-8444-555555555555"
    said = (await bot.command(f"eqx validate {unknown} SV {AZURE_PROFILE} AMER")).text
    assert "not valid" in said


async def test_connections_with_filters_and_show(bot: Bot) -> None:
    said = (await bot.command(f"eqx connections key={FABRIKAM_KEY}")).text
    assert "Fabrikam-SV-ER-PRI" in said and "Fabrikam-SV-ER-SEC" in said and "2 connections" in said
    assert "Northwind" not in said
    by_status = (await bot.command("eqx list status=provisioning")).text
    assert "Northwind-SE-ER-PRI" in by_status and "Fabrikam" not in by_status
    shown = (await bot.command(f"eqx show {FABRIKAM_PRIMARY}")).text
    assert "Equinix connection Fabrikam-SV-ER-PRI" in shown and FABRIKAM_KEY in shown
    assert "providerStatus *AVAILABLE*" in shown


async def test_stats_render_a_table_with_sparklines_not_json(bot: Bot) -> None:
    said = (await bot.command(f"eqx stats {SEED_PORT} 2026-12-01 2026-12-02")).text
    assert "Traffic of port" in said and "inbound" in said and "outbound" in said
    assert any(spark in said for spark in "▁▂▃▄▅▆▇█")
    assert "{" not in said.split("Traffic of port", 1)[1].split("```")[1]


async def test_bad_arguments_answer_with_the_usage(bot: Bot) -> None:
    said = (await bot.command("eqx price not-a-port SV")).text
    assert ":warning:" in said and "a port uuid looks like" in said
    said = (await bot.command(f"eqx profiles {SEED_PORT}")).text
    assert "two-letter code" in said


async def test_an_absent_connection_says_where_to_look(bot: Bot) -> None:
    said = (await bot.command("eqx show 00000000-0000-4000-8000-000000000000")).text
    assert ":warning:" in said and "`eqx connections` lists your connections" in said
