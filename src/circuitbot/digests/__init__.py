"""Scheduled digests: ``/circuit digest #channel daily 09:00`` posts, once per occurrence across
replicas, what needs attention (``engine``: the jobs and the claims; ``content``: the message;
``commands``: the verbs)."""
