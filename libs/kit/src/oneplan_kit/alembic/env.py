"""The Alembic environment of every OnePlan service (the kit supplies it; services keep only
their ``versions/``). The target metadata is handed over by ``oneplan_kit.migrations``."""

from alembic import context

from oneplan_kit.migrations import run_env

run_env(context.config.attributes.get("target_metadata"))
