"""One circuit end to end: every leg an Azure service key names, at every provider.

``finding`` asks each provider that can be searched by key (``providers.legs.KeyedProvider``)
at once, each within a bound, so one slow or failing provider is shown as unreachable while
the others answer. ``consistency`` says in words where the legs disagree. ``commands`` is
``/circuit find``; ``poller`` lets ``/circuit watch key <service-key>`` follow every leg in one
watch, so every transition of any leg lands in one thread.
"""
