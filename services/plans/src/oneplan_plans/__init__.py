"""The OnePlan plans service.

OnePlan plans

Scaffolded by `oneplan new-service`; docs/service-kit.md walks through every file.
"""
