"""Cross-checking entry events against the visitor log and standing authorisations.

``rules`` are pure (facts in, verdict out); ``service`` gathers the facts from the database and
applies the verdict; ``watchlist`` keeps the plates that are flagged whatever the log says.
Imports ``audit``, ``models``, ``plates`` and ``settings``.
"""
