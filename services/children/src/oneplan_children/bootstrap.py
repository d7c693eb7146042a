"""The composition root: the children service as the kit runs it."""

from __future__ import annotations

from oneplan_children.config import ChildrenSettings
from oneplan_children.entrypoints.routes import router
from oneplan_events.streams import StreamSpec
from oneplan_kit.runtime import ServiceDefinition

__all__ = ["bootstrap"]


def bootstrap() -> ServiceDefinition:
    """The service definition: routes, stream, migrations, settings, the consent replica."""
    return ServiceDefinition(
        name="children",
        title="OnePlan children service",
        description=(
            "The child's record and the family's story, told once: identity, family and "
            "network, the 'all about me' story, and the age facts other services need."
        ),
        port=8001,
        stream=StreamSpec(name="CHILDREN", subjects=["oneplan.children.>"]),
        migrations="oneplan_children:migrations",
        settings_cls=ChildrenSettings,
        routers=[router],
        uses_consent_replica=True,
    )
