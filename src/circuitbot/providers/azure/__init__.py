"""Azure ExpressRoute partner provider: wire models, the ARM client, commands, poller and spec.

``SPEC`` (in ``spec``) is how the bot finds it; see :mod:`circuitbot.providers.spec`.
"""
