"""Test doubles for circuitbot that other test suites and benchmarks can import.

Shipped inside the package so ``tests/``, ``bench/`` and a deployment's own checks share one
fake Slack rather than copying it:

* ``fake_slack.FakeSlack``: the Slack Web API and ``response_url`` endpoints, served over HTTP,
  recording every call and injecting faults on demand;
* ``slack_model.SlackModel``: the in-memory workspace (channels, threads, views, users) behind it;
* ``payloads``: the signed requests Slack sends to the bot (slash commands, block actions,
  view submissions);
* ``workspace``: the sandbox workspace's ids, shared by the fake and the payloads.

Production code never imports this package.
"""
