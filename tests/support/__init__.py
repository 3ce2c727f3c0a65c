"""Test doubles shared by several test rooms: a recording poster, a stand-in approvals engine and
an HTTP transport that records what it passes on.

``tests/`` is on ``sys.path`` while pytest runs (the root ``conftest.py`` puts it there), so
tests import these as ``from support.poster import RecordingPoster``.
"""
