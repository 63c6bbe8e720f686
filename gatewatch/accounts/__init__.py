"""People and machine clients: users, roles, passwords and API tokens.

Every change is audited; imports ``audit`` and ``models``.
"""
