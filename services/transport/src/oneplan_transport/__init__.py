"""The OnePlan transport service.

OnePlan transport

Scaffolded by `oneplan new-service`; docs/service-kit.md walks through every file.
"""
