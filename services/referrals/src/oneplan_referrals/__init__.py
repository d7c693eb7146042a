"""The OnePlan referrals service.

OnePlan referrals

Scaffolded by `oneplan new-service`; docs/service-kit.md walks through every file.
"""
