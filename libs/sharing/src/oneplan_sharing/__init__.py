"""The OnePlan consent decision point: pure sharing rules and the replica every service embeds.

```python
state = SharingState(); state.apply(envelope_or_event); state.decide(DecisionRequest(...))
replica = ConsentReplica(js, stream="CONSENT", max_staleness=timedelta(seconds=5))
asyncio.create_task(replica.run()); replica.decide(request)   # denies while stale
await replica.wait_until_applied(token, timeout=2.0)            # a consistency token
```
"""

from .replica import STALE_REASON, ConsentReplica
from .rules import (
    BASIS_CONSENT,
    BASIS_OVERRIDE,
    BASIS_OWN_DATA,
    BASIS_STATUTORY_DUTY,
    KNOWN_AGENCIES,
    Decision,
    DecisionRequest,
    Purpose,
    SharingState,
)

__all__ = [
    "BASIS_CONSENT",
    "BASIS_OVERRIDE",
    "BASIS_OWN_DATA",
    "BASIS_STATUTORY_DUTY",
    "KNOWN_AGENCIES",
    "STALE_REASON",
    "ConsentReplica",
    "Decision",
    "DecisionRequest",
    "Purpose",
    "SharingState",
]
