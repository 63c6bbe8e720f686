"""Stored entry events as people work with them: queue queries, reviews, statistics.

Imports ``crosscheck`` (a decision re-judges), ``audit``, ``models``, ``plates`` and ``settings``.
"""
