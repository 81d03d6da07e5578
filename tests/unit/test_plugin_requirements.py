"""Installed plugins declare what they need (KITH_REQUIRES): Kith's version range and other
plugins. Load order follows the requirements; what is missing is a clear error at start."""

from __future__ import annotations

from types import SimpleNamespace

import kith
import pytest
from kith.plugins_manager import in_requirement_order, version_allows


def plugin(**requires: object) -> SimpleNamespace:
    return SimpleNamespace(KITH_REQUIRES=requires)


def test_a_plugin_loads_after_the_plugins_it_requires() -> None:
    installed = [
        ("billing", plugin(plugins=["crm_extras"]), "1.0"),
        ("crm_extras", plugin(plugins=["sales"]), "1.0"),
        ("audit", plugin(), "1.0"),
    ]
    order = [name for name, *_ in in_requirement_order(installed, {"core", "sales"})]
    assert order.index("crm_extras") < order.index("billing")


def test_a_missing_plugin_names_both() -> None:
    with pytest.raises(kith.KithError) as err:
        in_requirement_order([("billing", plugin(plugins=["invoices"]), "1.0")], {"core"})
    assert "billing" in err.value.message and "invoices" in err.value.message


def test_a_kith_version_out_of_range_is_refused() -> None:
    with pytest.raises(kith.KithError) as err:
        in_requirement_order([("old", plugin(kith=">=9.0"), "1.0")], {"core"})
    assert "old" in err.value.message and ">=9.0" in err.value.message
    assert in_requirement_order([("ok", plugin(kith=">=0.1,<1"), "1.0")], {"core"})


def test_requirements_in_a_circle_are_refused() -> None:
    installed = [("a", plugin(plugins=["b"]), "1"), ("b", plugin(plugins=["a"]), "1")]
    with pytest.raises(kith.KithError) as err:
        in_requirement_order(installed, {"core"})
    assert "circle" in err.value.message


@pytest.mark.parametrize(
    ("spec", "version", "allowed"),
    [
        (">=0.1,<0.2", "0.1.0", True),
        (">=0.1,<0.2", "0.2.0", False),
        ("==0.1", "0.1.0", True),
        ("!=0.1.3", "0.1.3", False),
        (">0.1", "0.1.1", True),
    ],
)
def test_version_ranges(spec: str, version: str, allowed: bool) -> None:
    assert version_allows(spec, version) is allowed
