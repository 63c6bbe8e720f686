"""Serves stored H.264 MKV files over RTSP at real pace, packets as stored: the live camera of the
tests and of ``make soak``. Run with the system Python, which has GStreamer's RTSP server (gi):

    /usr/bin/python3 scripts/rtsp_serve.py PORT MAIN.mkv [DETECT.mkv]

MAIN is served at rtsp://127.0.0.1:PORT/gate and, given, DETECT at /detect; each reader gets
its own pipeline from the file's start.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer

Gst.init(None)
server = GstRtspServer.RTSPServer(address="127.0.0.1", service=sys.argv[1])
for mount, video in zip(("/gate", "/detect"), sys.argv[2:], strict=False):
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(f"( filesrc location={video} ! matroskademux ! rtph264pay name=pay0 pt=96 )")
    server.get_mount_points().add_factory(mount, factory)
if not server.attach(None):
    sys.exit(f"cannot listen on port {sys.argv[1]}")
GLib.MainLoop().run()
