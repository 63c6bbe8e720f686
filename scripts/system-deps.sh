#!/usr/bin/env bash
# Installs the Debian packages the tests use, when they are missing: Chromium for the browser
# tests, PostgreSQL's server for the database tests. Needs root (CI runs as root); elsewhere it
# says what to install and carries on.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "note: install ${missing[*]} (Debian packages) for the browser and database tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
