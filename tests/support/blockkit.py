"""Slack's limits on a message, checked with slack_sdk's own models of Block Kit: what the
conformance suite and the reliability suite assert of every reply the bot gives."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply

SLACK_TEXT_LIMIT = 40_000  # chat.postMessage truncates a message's text past this


def assert_valid_block_kit(reply: Reply) -> None:
    """Every block parses as slack_sdk's model of it and passes its limits; the message's too."""
    assert len(reply.blocks) <= bk.MAX_BLOCKS
    assert len(reply.text) <= SLACK_TEXT_LIMIT
    for block in reply.blocks:
        model = Block.parse(block)
        assert model is not None, f"not a Block Kit block: {block}"
        model.to_dict()  # raises SlackObjectFormationError past a limit
