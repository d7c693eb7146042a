"""`oneplan rebuild plans` under the generated least-privilege accounts: the plans user may
create, read and delete its rebuild consumers on the streams the shared plan is built from,
and the rebuild applies what those streams hold, with no permission refused."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import nats
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from oneplan_events.clock import SystemClock
from oneplan_events.envelope import Envelope, dataschema_for
from oneplan_events.schema import BACKBONE_METADATA
from oneplan_events.store import EventStore
from oneplan_events.streams import ensure_stream, service_stream
from oneplan_events.uow import UnitOfWork
from oneplan_kit.deployment import nats_accounts
from oneplan_kit.nats import inbox_prefix_for
from oneplan_kit.rebuild import rebuild_read_model
from oneplan_kit.service import installed_services
from oneplan_testkit import NatsProcess
from oneplan_testkit.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "      { user: inspector, password: test-inspector }\n    ]\n  }\n  SYS {"


async def test_the_plans_user_may_rebuild_the_shared_plan(
    tmp_path: Path, nats_server_factory: Callable[..., NatsProcess]
) -> None:
    services = installed_services()
    plans = services["plans"]
    shutil.copy(ROOT / "deploy" / "nats" / "nats-server.conf", tmp_path / "nats-server.conf")
    accounts = nats_accounts(list(services.values())).replace("    ]\n  }\n  SYS {", ADMIN)
    (tmp_path / "accounts.conf").write_text(accounts)
    with pytest.MonkeyPatch.context() as patch:
        for name in [*services, "admin"]:
            patch.setenv(f"NATS_{name.upper()}_PASSWORD", f"test-{name}")
        server = nats_server_factory(
            config=tmp_path / "nats-server.conf", extra_args=("-m", str(free_port()))
        )
    try:
        await _rebuild_as_plans(server, plans, tmp_path)
    finally:
        server.cleanup()


async def _rebuild_as_plans(server: NatsProcess, plans: object, tmp_path: Path) -> None:
    from oneplan_plans.adapters.shared_plan_tables import PlanItemRow
    from oneplan_plans.adapters.tables import Base

    admin = await nats.connect(server.url, user="inspector", password="test-inspector")
    child_id, item = uuid4(), uuid4()
    try:
        js = admin.jetstream()
        for name in ("children", "consent", "plans", "referrals", "transport"):
            await ensure_stream(js, service_stream(name))
        envelope = Envelope(
            id=str(uuid4()),
            source="/oneplan/referrals",
            type="oneplan.referrals.contribution.submitted",
            time=SystemClock().now(),
            data={
                "contribution_id": str(item),
                "child_id": str(child_id),
                "section": "C",
                "data_class": "health",
                "author": "Dr Example",
                "agency": "health",
                "title": "Health needs",
                "content": "Needs speech and language therapy.",
            },
            subject=f"contribution/{item}",
            dataschema=dataschema_for("oneplan.referrals.contribution.submitted", 1),
            childid=str(child_id),
            dataclass="health",
            streamversion=1,
        )
        headers, body = envelope.to_nats()
        await js.publish(envelope.nats_subject, body, headers=headers, stream="REFERRALS")
    finally:
        await admin.close()

    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    user = await nats.connect(
        server.url,
        user="plans",
        password="test-plans",
        inbox_prefix=inbox_prefix_for("plans"),
        error_cb=on_error,
    )
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'plans.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(BACKBONE_METADATA.create_all)
        await connection.run_sync(Base.metadata.create_all)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    store = EventStore.for_dialect("sqlite", plans.catalogue)  # type: ignore[attr-defined]
    try:
        report = await rebuild_read_model(
            plans.read_models[0],  # type: ignore[attr-defined]
            service="plans",
            nc=user,
            sessionmaker=sessions,
            catalogue=plans.catalogue,  # type: ignore[attr-defined]
            work_factory=lambda session, env: UnitOfWork.bound_to(
                session, store, source="/oneplan/plans", clock=SystemClock()
            ),
        )
        async with sessions() as session:
            titles = (await session.scalars(select(PlanItemRow.title))).all()
    finally:
        await user.close()
        await engine.dispose()
    assert [e for e in errors if "permission" in e.lower()] == []
    assert report.applied == 1
    assert titles == ["Health needs"]
