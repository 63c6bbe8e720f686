"""The guards' visitor log: registering visitors, checking them out, CSV imports.

A late registration re-judges the flagged entries it explains through ``crosscheck``; imports
``crosscheck``, ``audit``, ``models``, ``plates`` and ``settings``.
"""
