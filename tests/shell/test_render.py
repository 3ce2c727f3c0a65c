"""Block Kit as terminal text: every block type, mrkdwn, numbered controls, modals, colours."""

from __future__ import annotations

from shell_support import Peering, board_reply

from circuitbot.actions.registry import Operation
from circuitbot.chat import blocks as bk
from circuitbot.chat import modals
from circuitbot.chat.reply import Reply
from circuitbot.shell.render import Renderer
from circuitbot.shell.text import ANSI, visible_width

NAMES = {"UALICE": "@alice", "CGENERAL": "#general"}


def renderer(**kwargs) -> Renderer:
    return Renderer(names=NAMES.get, **kwargs)


def test_header_is_underlined_in_plain_text() -> None:
    lines = renderer().blocks([bk.header("Circuit 9f8e1c52")]).lines
    assert lines == ["Circuit 9f8e1c52", "═" * len("Circuit 9f8e1c52")]


def test_section_mrkdwn_becomes_plain_text_with_links_and_mentions() -> None:
    reply = board_reply()
    section = reply.blocks[1]
    lines = renderer().blocks([section]).lines
    assert lines[0] == (
        "State: Provisioned — see the portal (https://portal.example/c/9f8e), asked by @alice in #general"
    )


def test_fields_are_two_aligned_columns() -> None:
    section = board_reply().blocks[1]
    lines = renderer(width=80).blocks([{"type": "section", "fields": section["fields"]}]).lines
    assert lines == [
        "Location" + " " * 34 + "Bandwidth",
        "Amsterdam" + " " * 33 + "10 Gbps",
        "Provider" + " " * 34 + "VLAN",
        "Equinix" + " " * 35 + "100",
    ]


def test_context_divider_and_code_block() -> None:
    reply = board_reply()
    rendered = renderer().blocks(reply.blocks[2:5])
    assert rendered.lines[0] == "⏳ checked 2 min ago  az show 9f8e"
    assert set(rendered.lines[1]) == {"─"}
    assert rendered.lines[2:] == ["│ port      state", "│ port-a    up", "│ port-b    down"]


def test_buttons_and_select_options_are_numbered_in_order() -> None:
    rendered = renderer().message("fallback", board_reply().blocks)
    assert "[1 Approve] [2 Reject]" in rendered.lines
    assert "Move to port ▾ [3 port A] [4 port B]" in rendered.lines
    controls = [(c.number, c.action_id, c.value, c.kind) for c in rendered.controls]
    assert controls == [
        (1, "demo_vote:approve", "req-7", "button"),
        (2, "demo_vote:reject", "req-7", "button"),
        (3, "demo_vote:port", "port-a", "option"),
        (4, "demo_vote:port", "port-b", "option"),
    ]
    assert rendered.controls[1].confirm["title"]["text"] == "Reject request 7?"
    assert rendered.controls[0].confirm is None


def test_a_message_without_blocks_shows_its_text() -> None:
    rendered = renderer().message("*done* — <@UALICE> :white_check_mark:")
    assert rendered.lines == ["done — @alice ✅"]


def test_error_replies_keep_usage_placeholders() -> None:
    reply = Reply.error("missing key", usage="/circuit demo peering <key> [vlan=…]")
    assert renderer().message(reply.text, reply.blocks).lines == [
        "⚠️ missing key",
        "Usage: /circuit demo peering <key> [vlan=…]",
    ]


def test_mrkdwn_details() -> None:
    r = renderer()
    assert r.mrkdwn("a _b_ ~c~ snake_case_name 2*3*4") == "a b c snake_case_name 2*3*4"
    assert r.mrkdwn("<!here> <#C0ABC|ops> <mailto:x@example.com|mail> <https://a.example>") == (
        "@here #ops mail (x@example.com) https://a.example"
    )
    assert r.mrkdwn("1 &lt; 2 &amp;&amp; `a &gt; b` :not_an_emoji:") == "1 < 2 && a > b :not_an_emoji:"
    assert r.mrkdwn("before\n```x = 1\ny = 2```\nafter") == "before\n│ x = 1\n│ y = 2\nafter"
    # a command line echoed in code keeps the mentions as they were typed
    assert r.mrkdwn("working on `watch az x <#COPS|ops> <@UALICE>`…") == "working on watch az x #ops @alice…"


def test_long_lines_wrap_at_the_width_with_hanging_bullets() -> None:
    text = "• " + " ".join(["word"] * 30)
    lines = renderer(width=40).blocks([bk.section(text)]).lines
    assert all(visible_width(line) <= 40 for line in lines)
    assert lines[0].startswith("• word") and all(line.startswith("  word") for line in lines[1:])
    assert " ".join(line.strip(" •") for line in lines).split() == ["word"] * 30


def test_code_lines_are_never_wrapped() -> None:
    long = "x" * 150
    assert renderer(width=60).blocks(bk.code_sections([long])).lines == ["│ " + long]


def test_modal_input_blocks_become_fields_to_fill_in() -> None:
    op = Operation(
        provider="demo",
        verb="peering",
        summary="create a peering",
        params=Peering,
        execute=None,
        mutating=True,
    )
    view = modals.build_view(op, {"key": "k1", "kind": "microsoft"}, meta={"op": "demo.peering"})
    rendered = renderer().modal(view)
    text = rendered.text
    assert rendered.lines[0].startswith("┌─ demo peering")
    assert "│ ▸ Key (required): k1" in text
    assert "│ ▸ Vlan (required)" in text
    assert "│     one of: 1 private  2 microsoft" in text
    assert "│     BGP key — kept encrypted, never shown again" in text
    assert rendered.lines[-1] == "└─ Request / Cancel"
    by_id = {f.block_id: f for f in rendered.fields}
    assert list(by_id) == ["key", "vlan", "shared_key", "kind", "run_at"]
    assert (by_id["key"].initial, by_id["key"].optional) == ("k1", False)
    assert by_id["vlan"].element_type == "number_input"
    assert (by_id["kind"].initial, by_id["kind"].initial_label) == ("microsoft", "microsoft")
    assert by_id["kind"].options == (("private", "private"), ("microsoft", "microsoft"))
    assert by_id["shared_key"].optional and by_id["shared_key"].action_id == modals.ACTION_ID


def test_colours_only_when_asked() -> None:
    plain = renderer().message("x", board_reply().blocks).text
    assert not ANSI.search(plain)
    coloured = renderer(color=True).message("x", board_reply().blocks)
    assert "\x1b[1;4mCircuit 9f8e1c52\x1b[0m" in coloured.lines[0]
    assert "\x1b[1;32m[1 Approve]\x1b[0m" in coloured.text and "\x1b[1;31m[2 Reject]\x1b[0m" in coloured.text
    assert "═" not in coloured.text  # the underline is an attribute, not a line
    # context is dimmed all along, including after the nested code style ends
    context = renderer(color=True).blocks([bk.context("seen `az show` now")]).lines[0]
    assert context.startswith("\x1b[2m") and "\x1b[0m\x1b[2m now" in context
    assert ANSI.sub("", context) == "seen az show now"
