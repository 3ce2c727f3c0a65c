"""The providers this bot knows: the one list everything else derives from.

Adding a provider is one package exporting a ``SPEC`` (a :class:`~circuitbot.providers.spec.ProviderSpec`)
and one line here. The settings, bootstrap, the registry, help, the CLI, ``check`` and the sandbox
read this tuple; no other module keeps a list of provider names.

A tuple in a module rather than a packaging entry-point group: every provider lives in this
repository, so the list is found without installing anything and a new provider needs no
re-install of the package to appear.
"""

from __future__ import annotations

from circuitbot.providers.alibaba.spec import SPEC as ALIBABA
from circuitbot.providers.azure.spec import SPEC as AZURE
from circuitbot.providers.consoleconnect.spec import SPEC as CONSOLECONNECT
from circuitbot.providers.equinix.spec import SPEC as EQUINIX
from circuitbot.providers.spec import ProviderSpec

PROVIDERS: tuple[ProviderSpec, ...] = (AZURE, EQUINIX, CONSOLECONNECT, ALIBABA)


def names() -> tuple[str, ...]:
    return tuple(spec.name for spec in PROVIDERS)


def aliases_of(name: str) -> tuple[str, ...]:
    """A provider's short words (none for a provider outside the catalog, such as a test double)."""
    return next((spec.aliases for spec in PROVIDERS if spec.name == name), ())


def canonical_name(word: str) -> str:
    """The provider name a word means (``az`` → ``azure``); a word no spec claims, as it is."""
    try:
        return spec_of(word).name
    except LookupError:
        return word


def spec_of(name: str) -> ProviderSpec:
    """The spec of ``name`` (a provider name or one of its aliases)."""
    word = name.lower()
    for spec in PROVIDERS:
        if word == spec.name or word in spec.aliases:
            return spec
    raise LookupError(f"unknown provider {name!r}; known: {', '.join(names())}")
