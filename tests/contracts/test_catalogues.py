"""Every installed service's catalogue is whole: an event stored at any version it ever had
can still be decoded (an upcaster for every step), and it publishes only its own types."""

from __future__ import annotations

import pytest

from oneplan_kit.service import ServiceDefinition, installed_services

SERVICES = installed_services()


@pytest.mark.parametrize("definition", SERVICES.values(), ids=list(SERVICES))
def test_every_version_step_has_an_upcaster(definition: ServiceDefinition) -> None:
    assert definition.catalogue.missing_upcasters() == []


@pytest.mark.parametrize("definition", SERVICES.values(), ids=list(SERVICES))
def test_a_service_publishes_only_its_own_types(definition: ServiceDefinition) -> None:
    published = [info.name for info in definition.catalogue.published()]
    assert published
    assert all(name.startswith(f"oneplan.{definition.name}.") for name in published), published
