"""``module:function`` references resolve in one place and say which part is wrong."""

from __future__ import annotations

import pytest

from nexus_agents._refs import RefError, resolve_ref
from nexus_agents.periods import parse_period


def test_a_reference_resolves_to_the_function() -> None:
    assert resolve_ref("nexus_agents.periods:parse_period") is parse_period


@pytest.mark.parametrize(
    ("ref", "problem", "message"),
    [
        ("nexus_agents.periods", "form", "is not of the form package.module:function"),
        (":parse_period", "form", "is not of the form package.module:function"),
        ("no_such_pkg.mod:f", "module", "cannot import module 'no_such_pkg.mod'"),
        ("nexus_agents.periods:nope", "attribute", "has no attribute 'nope'"),
        ("nexus_agents.periods:__name__", "callable", "is not callable"),
    ],
)
def test_a_bad_reference_names_what_is_wrong(ref: str, problem: str, message: str) -> None:
    with pytest.raises(RefError, match=message) as caught:
        resolve_ref(ref)
    assert caught.value.problem == problem
    assert (caught.value.import_error is not None) == (problem == "module")
