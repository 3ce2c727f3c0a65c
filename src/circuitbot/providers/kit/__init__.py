"""The provider kit: what every provider needs, written once.

Each provider's client builds on these modules rather than writing its own:

* ``tokens``: one bearer token shared by concurrent callers, refreshed before it expires and
  once more when the provider refuses it (401).
* ``confirm``: a write whose answer was lost is confirmed by reading the resource back, never
  by sending it again.
* ``listing``: the poller's listing, loaded once per sweep for all the sweep's batches.
* ``errors``: the errors every provider raises alike.
* ``preconditions``: the conditions of a write, checked before anything is sent.
* ``render``: how every provider's resources are shown.
"""
