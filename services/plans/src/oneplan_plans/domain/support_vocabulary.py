"""The words of the graduated response (pure: no imports of ours): areas of need, the tiers of
the SEND Provision Matrix, an outcome's progress, what a review decides, why a plan closes.

The events (`events.py`), the deciders and the API all name these; the values are the
contract (`docs/asyncapi.yaml`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["TIER_RANK", "AreaOfNeed", "CloseReason", "ProgressStatus", "ReviewDecision", "Tier"]


class AreaOfNeed(StrEnum):
    """The four broad areas of need (SEND Code of Practice 6.28-6.35)."""

    COMMUNICATION_AND_INTERACTION = "communication_and_interaction"
    COGNITION_AND_LEARNING = "cognition_and_learning"
    SOCIAL_EMOTIONAL_MENTAL_HEALTH = "social_emotional_mental_health"
    SENSORY_AND_PHYSICAL = "sensory_and_physical"


class Tier(StrEnum):
    """The matrix's tiers: what is ordinarily available to every child, to some, to a few."""

    UNIVERSAL = "universal"
    TARGETED = "targeted"
    SPECIALIST = "specialist"


TIER_RANK: Final = {Tier.UNIVERSAL: 0, Tier.TARGETED: 1, Tier.SPECIALIST: 2}
"""Provision "at or above" a tier: a specialist entry meets a targeted need."""


class ProgressStatus(StrEnum):
    """Where an outcome stands at a review."""

    NOT_STARTED = "not_started"
    PROGRESSING = "progressing"
    ACHIEVED = "achieved"
    NO_LONGER_RELEVANT = "no_longer_relevant"


class ReviewDecision(StrEnum):
    """What a SEN support review decides (the graduated response's next step)."""

    CONTINUE = "continue"
    CHANGE = "change"
    STEP_DOWN = "step_down"
    REQUEST_EHC_ASSESSMENT = "request_ehc_assessment"


class CloseReason(StrEnum):
    """Why a SEN support plan ended."""

    STEPPED_DOWN = "stepped_down"
    LEFT_SETTING = "left_setting"
    EHC_PLAN_ISSUED = "ehc_plan_issued"
    OTHER = "other"
