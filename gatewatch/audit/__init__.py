"""The tamper-evident audit trail and what it records of events.

Owns the hash chain (``trail``), what the chain holds about each event row (``events``) and the
auditor's queries over it (``queries``). Low in the order because the cross-check, the visitor
log, reviews, accounts and the store all write to it: imports ``models`` and ``settings`` only.
"""
