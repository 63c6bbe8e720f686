# Set-up is part of every target, so a fresh clone needs nothing but `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
SHARED ?= ../shared
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup shared-data system-deps demo test test-fast bench soak day load clean

setup: $(STAMP) shared-data

# Reinstall only when the dependencies change: pip is slow with torch in the set.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The model and footage stay in ../shared; a link makes the sample configuration's paths work.
shared-data:
	@if [ -d "$(SHARED)" ]; then ln -sfn "$$(cd "$(SHARED)" && pwd)" shared-data; \
	else echo "note: $(SHARED) not found; set detector.model and camera sources yourself" >&2; fi

demo: setup
	$(BIN)/gatewatch demo

# Debian packages the tests need (Chromium, PostgreSQL, ffmpeg, a GStreamer RTSP server), installed when missing.
system-deps:
	scripts/system-deps.sh

test: setup system-deps
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m 'not slow'

# Speed and memory figures, measured in one run (not a test): see scripts/bench.py; then what the
# Cameras page's live view costs a worker, off and on (scripts/bench_live_view.py).
bench: setup
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_live_view.py

# N cameras live for M minutes on looped footage from a GStreamer RTSP server (not a test): dropped
# frames, CPU, memory, counts against offline analysis. SOAK_CAMERAS=4 SOAK_MINUTES=10 SOAK_DETECT_STREAM=1;
# see scripts/soak.py. The RTSP server comes from Debian (make system-deps).
soak: setup
	$(BIN)/python scripts/soak.py

# A scripted working day at a staffed gate through the real store and cross-check: flags against
# the script's truth (not a test; tests/test_working_day.py plays a short one). See scripts/day.py.
day: setup
	$(BIN)/python scripts/day.py

# Requests/s and latency of the API under 20 clients for 60 s, on SQLite and PostgreSQL (not a test):
# see scripts/loadtest.py. PostgreSQL's server comes from Debian (make system-deps).
load: setup
	$(BIN)/python scripts/loadtest.py

clean:
	rm -rf var/demo test-output .pytest_cache
