"""Driving the Azure commands as a front end would: through the Router, against the in-process
ARM simulator, with a FakeClock moved forward while long-running operations wait."""

from __future__ import annotations

from circuitbot.chat import blocks as bk
from circuitbot.chat.reply import Reply
from circuitbot.providers.azure.client import AzurePartnerClient
from circuitbot.sandbox.azure import AzureSimulator
from support.router_harness import RouterHarness

# The demo world's circuits (sandbox/world.py), named after what the tests use them for.
FABRIKAM = "24e6ea2b-6940-4bec-b0b3-3a9e5471e512"  # SiliconValley, 1000 Mbps on bvtazureixpportpair1
WOODGROVE = "cccc2c2c-dd3d-ee4e-ff5f-aaaaaa6a6a6a"  # SiliconValley, 1000 Mbps on pair3, Microsoft peering
EUAP_PROVISIONED = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"  # EUAP Test, private peering with a shared key
EUAP_NEW = "bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f"  # EUAP Test, NotProvisioned, no peerings
NORTHWIND = "99973578-36f9-47f8-b12f-afa3faf02d06"  # Seattle, Provisioning
SEEDED_SHARED_KEY = "A1B2C3D4"


def assert_within_slack_limits(reply: Reply) -> None:
    assert len(reply.blocks) <= bk.MAX_BLOCKS
    for block in reply.blocks:
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= bk.MAX_SECTION_TEXT
            assert len(block.get("fields", [])) <= bk.MAX_FIELDS
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= bk.MAX_HEADER_TEXT
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element.get("value", "")) <= bk.MAX_BUTTON_VALUE


class Harness(RouterHarness):
    @property
    def sim(self) -> AzureSimulator:
        return self.runtime.sandbox["azure"]

    @property
    def client(self) -> AzurePartnerClient:
        return self.runtime.providers["azure"]
