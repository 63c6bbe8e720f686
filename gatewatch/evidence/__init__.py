"""Evidence on disk and its proof: files, signing, exports, retention, integrity checks.

Owns the evidence files (atomic writes, SHA-256, thumbnails; no OpenCV or PyAV), the
installation's signing key, signed exports, retention and ``audit verify``. Imports ``audit``,
``models``, ``settings`` and, for wording verdicts in exports, ``crosscheck.wording``.
"""
