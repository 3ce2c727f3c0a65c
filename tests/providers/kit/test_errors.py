"""A provider's own exceptions mapped onto the errors approvals and chat replies understand."""

from __future__ import annotations

import httpx
import pytest

from circuitbot.actions.registry import OperationError, OutcomeUnknown
from circuitbot.providers.http import ProviderHTTPError
from circuitbot.providers.kit.errors import ProviderErrors


class ExampleError(ProviderHTTPError):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(provider="example", status=status, message=message, code=code)


class Gone(ExampleError):
    pass


class Stale(ExampleError):
    pass


class Lost(ExampleError):
    pass


class StillRunning(TimeoutError):
    pass


ERRORS = ProviderErrors(
    label="Example",
    show_command="ex show",
    precondition_failed=(Stale,),
    write_unconfirmed=(Lost,),
    not_found=(Gone,),
    provider_error=(ExampleError,),
    operation_timeout=(StillRunning,),
    not_found_hints={"NoSuchCircuit": "`ex list` shows the circuits."},
)


def test_a_stale_write_is_an_error_saying_nothing_was_written() -> None:
    error = ERRORS.translate(Stale(412, "etag mismatch"), "c1")
    assert type(error) is OperationError
    assert str(error) == (
        "c1 changed since the request was reviewed for approval (its etag no longer matches), so "
        "nothing was written; request it again to review the current state"
    )


def test_a_lost_write_or_a_timeout_is_an_unknown_outcome_with_the_command_that_tells() -> None:
    lost = ERRORS.translate(Lost(502, "The answer was lost."), "c1")
    assert isinstance(lost, OutcomeUnknown)
    assert str(lost) == "The answer was lost. `ex show c1` tells which."
    timeout = ERRORS.translate(StillRunning("still Updating after 600 s"), "c1")
    assert isinstance(timeout, OutcomeUnknown)
    assert str(timeout) == "still Updating after 600 s; it may still finish, `ex show c1` tells"


def test_not_found_carries_the_code_and_the_hint_for_that_code() -> None:
    hinted = ERRORS.translate(Gone(404, "no circuit c1", code="NoSuchCircuit"), "c1")
    assert str(hinted) == "Example NoSuchCircuit: no circuit c1 `ex list` shows the circuits."
    plain = ERRORS.translate(Gone(404, "no peering"), "c1")
    assert type(plain) is OperationError
    assert str(plain) == "Example NotFound: no peering"


def test_a_provider_error_says_its_code_or_else_its_status() -> None:
    assert str(ERRORS.translate(ExampleError(409, "busy", code="Conflict"))) == "Example Conflict: busy"
    assert str(ERRORS.translate(ExampleError(500, "oops"))) == "Example 500: oops"


def test_another_providers_http_error_and_an_unreachable_provider() -> None:
    other = ProviderHTTPError(provider="other", status=503, message="down")
    assert str(ERRORS.translate(other)) == str(other)
    unreachable = ERRORS.translate(httpx.ConnectError("refused"))
    assert str(unreachable) == "could not reach Example (ConnectError)"
    assert ERRORS.translate(ValueError("a bug")) is None


async def test_reported_raises_the_translation_and_lets_other_errors_through() -> None:
    with pytest.raises(OutcomeUnknown, match="`ex show c2` tells which") as caught:
        async with ERRORS.reported("c2"):
            raise Lost(504, "Gateway timeout.")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(KeyError):
        async with ERRORS.reported("c2"):
            raise KeyError("not a provider failure")
    mine = OperationError("already said")
    with pytest.raises(OperationError) as passed:
        async with ERRORS.reported("c2"):
            raise mine
    assert passed.value is mine


def test_a_providers_words_and_a_typed_key_never_ping_or_link_in_the_reply() -> None:
    hostile = ExampleError(400, "<!channel> see <https://evil.example|here> & more", code="<@U1>")
    refused = ERRORS.translate(hostile, "k")
    unknown = ERRORS.translate(Lost(500, "<!here> lost"), "key`<!channel>")

    assert str(refused) == (
        "Example &lt;@U1&gt;: &lt;!channel&gt; see &lt;https://evil.example|here&gt; &amp; more"
    )
    assert "<" not in str(unknown) and "`ex show key" in str(unknown)
    assert str(unknown).count("`") == 2, "the typed backtick does not end the code span"
