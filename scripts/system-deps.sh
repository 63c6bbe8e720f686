#!/usr/bin/env bash
# Installs the Debian packages the tests use, when they are missing: Chromium for the browser
# tests, PostgreSQL's server for the database tests, FFmpeg and GStreamer's RTSP server (run by
# Debian's python3 through PyGObject) for the live-stream tests, and Mosquitto (the broker) for the
# MQTT tests. Needs root (CI runs as root); elsewhere it says what to install and carries on.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
[ -d /usr/lib/python3/dist-packages/gi ] || missing+=(python3-gi)
ls /usr/lib/*/girepository-1.0/GstRtspServer-1.0.typelib >/dev/null 2>&1 || missing+=(gir1.2-gst-rtsp-server-1.0)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "note: install ${missing[*]} (Debian packages) for the browser, database, live-stream and MQTT tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
