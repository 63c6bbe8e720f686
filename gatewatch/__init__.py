"""gatewatch: gate cameras turned into entry events, checked against the visitor log.

One package per concern, imports running one way (lowest first; ``tests/test_layers.py`` keeps it):
``settings`` and ``plates`` (pure modules), ``models``, ``vision``, ``audit``, ``evidence``,
``accounts``, ``crosscheck``, ``visitors``, ``events``, ``camera``, ``web``, ``cli``.
"""
