"""Grammar and Block Kit limits."""

from __future__ import annotations

import random
import shlex

import pytest
from chat_support import Notes, Peering

from circuitbot.chat import blocks as bk
from circuitbot.chat import grammar
from circuitbot.chat.reply import Reply


def test_split_reads_quotes_options_and_slack_mentions() -> None:
    words = grammar.split("az notes 1234 “moved racks” peer-asn=65001 channel=<#C0ABC|noc> who=<@U0XYZ>")
    assert words.words == ["az", "notes", "1234", "moved racks"]
    assert words.options == {"peer_asn": "65001", "channel": "C0ABC", "who": "U0XYZ"}


def test_a_line_without_quotes_splits_into_the_words_shlex_reads() -> None:
    """Such a line skips shlex (the front end splits every command before its ack): the words
    must be shlex's own, for any mix of its blanks, other whitespace and its comment sign."""
    rng = random.Random(17)
    alphabet = list("ab= -\t\r\n\x0b\x0c\xa0é#;|&*$`~")
    for _ in range(5_000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        read, tokens = grammar.split(line), shlex.split(line)
        assert read.words == [t for t in tokens if not grammar.OPTION.match(t)], repr(line)
        options = [m for t in tokens if (m := grammar.OPTION.match(t))]
        assert read.options == {m[1].replace("-", "_").lower(): m[2] for m in options}, repr(line)


def test_unbalanced_quotes_are_a_grammar_error() -> None:
    with pytest.raises(grammar.GrammarError, match="No closing quotation"):
        grammar.split('notes "open')


def test_rest_of_line_goes_to_the_last_positional() -> None:
    data = grammar.collect(Notes, ["k1", "two", "words"], {})
    assert data == {"key": "k1", "text": "two words"}


def test_validation_errors_name_the_field_but_never_echo_a_secret() -> None:
    with pytest.raises(grammar.ParamsError) as err:
        grammar.validate(Peering, {"key": "k", "vlan": "0", "shared_key": "x" * 30})
    assert set(err.value.errors) == {"vlan", "shared_key"}
    assert "'0'" in err.value.errors["vlan"]
    assert "xxxx" not in str(err.value)


def test_section_text_and_block_count_stay_inside_slack_limits() -> None:
    long = "x" * 5000
    assert len(bk.section(long)["text"]["text"]) == bk.MAX_SECTION_TEXT
    reply = Reply(text="t", blocks=[bk.section(str(n)) for n in range(80)])
    assert len(reply.blocks) == bk.MAX_BLOCKS
    assert reply.blocks[-1]["elements"][0]["text"] == "… 31 more blocks not shown"


def test_code_sections_split_between_lines_under_3000_characters() -> None:
    lines = [f"row {n:04d} " + "y" * 80 for n in range(200)]
    sections = bk.code_sections(lines)
    assert len(sections) > 1
    assert all(len(s["text"]["text"]) <= bk.MAX_SECTION_TEXT for s in sections)
    joined = "".join(s["text"]["text"] for s in sections).replace("```", "\n")
    assert all(line in joined for line in lines)


def test_table_and_bar() -> None:
    lines = bk.table(["port", "used"], [["bvtazureixp01", 7000], ["b", None]])
    assert lines[0] == "port           used"
    assert lines[2] == "bvtazureixp01  7000"
    assert lines[3] == "b              —"
    assert bk.bar(7, 10) == "███████░░░ 70%"
    assert bk.bar(1, 0).endswith("n/a")


def test_button_value_over_2000_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="2000"):
        bk.button("x", "a", "v" * 2001)


def test_paginate_clamps_the_page() -> None:
    assert bk.paginate(list(range(10)), 9, 4) == ([8, 9], 3, 3)
    assert bk.page_buttons("demo list", 1, 1) is None


# --- Slack's markup and entities in, escaped text out --------------------------------------------


def test_slack_markup_is_read_before_its_entities_are_decoded() -> None:
    line = grammar.split(
        "az notes k a &amp; b &lt;#C123&gt; <#C9|ops> <@U1|bob> <!here> <!subteam^S1|@net> "
        '"see <https://x.example/a?b=1&amp;c=2|the runbook>" <https://y.example> w=<https://z|k=v> &amp;lt;'
    )
    assert line.words == [
        "az", "notes", "k", "a", "&", "b", "<#C123>", "C9", "U1", "@here", "@net",
        "see the runbook", "https://y.example", "&lt;",
    ]  # fmt: skip
    assert line.options == {"w": "k=v"}


def test_a_lone_angle_bracket_that_is_no_slack_markup_stays_text() -> None:
    assert grammar.split("notes <key> x").words == ["notes", "<key>", "x"]


NASTY = [
    "<!channel>",
    "<!here|here>",
    "<@U123>",
    "<#C123|ops>",
    "<https://evil.example|click>",
    "```x```",
    "`",
    "a ``` b ```` c",
    "&lt;!channel&gt;",
    "&amp;",
    "<<!channel>>",
    "x`<@U1>`y",
]


@pytest.mark.parametrize("text", NASTY)
def test_escaped_text_never_holds_slack_markup(text: str) -> None:
    _never_markup(text)


PIECES = ["<", ">", "&", "`", "```", "!", "@", "#", "channel", "amp;", "lt;", "|", " ", "U1", "x", "\n"]


def test_escaped_text_never_holds_slack_markup_for_any_mix() -> None:
    rng = random.Random(10)  # seeded: the same 500 mixes every run
    for _ in range(500):
        _never_markup("".join(rng.choices(PIECES, k=rng.randint(1, 12))))


def _never_markup(text: str) -> None:
    escaped = bk.escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert _shown(escaped) == text, "Slack shows exactly what was typed"
    code = bk.escape_code(text)
    assert "<" not in code and ">" not in code and "`" not in code
    [block] = bk.code_sections([text, "after"])
    body = block["text"]["text"]
    assert body.startswith("```") and body.endswith("```") and body.count("`") == 6
    span = bk.code(text)
    assert span.startswith("`") and span.endswith("`") and span.count("`") == 2


def _shown(mrkdwn: str) -> str:
    """What Slack shows for escaped text: its entities decoded."""
    return mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_a_table_keeps_its_columns_aligned_as_shown_after_escaping() -> None:
    lines = bk.table(["note", "n"], [["a&b", 1], ["<x>", 2]])
    [block] = bk.code_sections(lines)
    shown = _shown(block["text"]["text"]).strip("`").splitlines()
    assert shown[2:] == ["a&b   1", "<x>   2"]
