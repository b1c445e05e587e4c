# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean bench check-constraints check-light check-tflite

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cgan demo --out demo-out --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q

# constraints.txt resolves from the package index as a fresh install would, and pins everything (CI runs it).
check-constraints: $(STAMP)
	$(BIN)/python .ci/check_constraints.py

# The built wheel with no extras in a fresh venv runs every runtime command on an exported model (CI runs it).
check-light: $(STAMP)
	bash .ci/check_light_install.sh

# The LiteRT converter's round trips in a venv of their own, pinned by constraints-tflite.txt (CI runs it).
check-tflite:
	bash .ci/check_tflite.sh

clean:
	rm -rf $(VENV) demo-out .pytest_cache

# Regenerates benchmarks/RESULTS.md (about 60 minutes on a 2-core CPU; QUICK=1 for a short run).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all $(if $(QUICK),--quick,)
