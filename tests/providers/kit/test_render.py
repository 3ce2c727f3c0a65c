"""The render helpers every provider's replies use."""

from __future__ import annotations

from circuitbot.providers.kit import render


def test_absent_values_read_as_one_dash() -> None:
    for absent in (None, ""):
        assert render.escaped(absent) == render.NONE
        assert render.code(absent) == render.NONE
    assert render.number(None) == render.NONE
    assert render.escaped(0) == "0"  # a zero is a value
    assert render.number(0) == "0"


def test_values_are_escaped_for_mrkdwn() -> None:
    assert render.escaped("<@U1> & co") == "&lt;@U1&gt; &amp; co"
    assert render.code("a<b") == "`a&lt;b`"
    assert render.code("x`<!here>`y") == "`xˋ&lt;!here&gt;ˋy`", "a backtick cannot end the span"
    assert render.number(1234567) == "1,234,567"


def test_counted_nouns() -> None:
    assert render.counted(1, "peering") == "1 peering"
    assert render.counted(0, "peering") == "0 peerings"
    assert render.counted(2, "BGP community", "BGP communities") == "2 BGP communities"
    assert render.counted(1, "BGP community", "BGP communities") == "1 BGP community"


def test_a_paged_listing_ends_with_the_pager_only_when_there_are_pages() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "rows"}}]
    assert render.paged(blocks, "/circuit az list", 1, 1) == blocks
    paged = render.paged(blocks, "/circuit az list", 2, 3)
    assert paged[0] == blocks[0]
    assert paged[1]["type"] == "context" and "page 2 of 3" in str(paged[1])
    assert paged[2]["type"] == "actions"
