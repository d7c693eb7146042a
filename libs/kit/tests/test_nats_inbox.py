"""Each service's NATS connection has its own reply-inbox prefix (deploy permissions rely on it)."""

from __future__ import annotations

from typing import Any

import pytest

from oneplan_kit.nats import inbox_prefix_for


def test_the_inbox_prefix_names_the_service() -> None:
    assert inbox_prefix_for("children") == "_INBOX_children"


@pytest.mark.parametrize("name", ["", "a.b", "plans.>", "two words", "*"])
def test_a_name_that_is_not_one_subject_token_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="subject token"):
        inbox_prefix_for(name)


async def test_a_running_service_replies_to_its_own_inboxes(sqlite_service: Any) -> None:
    assert sqlite_service.runtime.nc.new_inbox().startswith("_INBOX_kittest.")
