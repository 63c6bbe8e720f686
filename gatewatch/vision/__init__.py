"""Camera ingest: decode, detect, track, count gate crossings, encode evidence.

One stage per module; source -> detector -> tracker -> gate -> recorder. Knows nothing of the
database or the web: imports ``settings``, ``plates`` and ``models.enums``, never ``models.tables``,
``camera`` or ``web``. Its drafts become stored events in ``gatewatch.camera``.
"""
