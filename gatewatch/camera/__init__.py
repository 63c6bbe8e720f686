"""From a camera or a file to stored events: store, analysis, workers, supervisor, footage, replay.

High in the order because it uses everything below: ``vision`` makes the drafts, the store
writes them through ``evidence``, ``audit`` and ``crosscheck``. The store's core loads without
OpenCV or PyAV; the rest loads them, so the web app and the command line import the video side
only where they run video.
"""
