"""The command line: the ``gatewatch`` command and every command under it.

One module per command group: ``main`` (the group itself, registering the others),
``analysis`` (process, worker), ``events``, ``visits``, ``audit``, ``export``, ``retention``,
``replay`` (replay, replay-run), ``users`` (users, tokens), ``serve`` and ``demo``; ``app`` holds
what they share (settings and database, options, who acts, errors and exit codes).

The top layer: it may import every other package of ``gatewatch``. The video libraries (cv2, av,
torch, ultralytics, OpenVINO, ONNX Runtime) and the Flask web app load only inside the commands
that need them, so ``gatewatch --help`` and the database commands start without them.
"""
