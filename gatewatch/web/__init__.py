"""The web interface: pages for operators, guards, auditors and admins behind a login, and the API.

Pages live in ``views`` (one blueprint per area), the JSON API in ``api``; both share the request
plumbing here (access, auth, CSRF, context, messages, validation). May import every package but
``cli``; loads none of OpenCV, PyAV, torch, ultralytics, OpenVINO or ONNX Runtime, because the
web app runs where no camera is. Start it with ``gatewatch serve`` for development or gunicorn in
production (see ``app.py``).
"""
