"""The web interface: pages for operators, guards, auditors and admins behind a login.

Nothing here imports the vision code (OpenCV, PyAV): the web app runs where no camera is.
Start it with ``gatewatch serve`` for development or gunicorn in production (see ``app.py``).
"""
