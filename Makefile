# Every target sets up what it needs, idempotently: a fresh machine runs `make sweep` or `make test` directly.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build, taken from local disk on the project's machines. GPU machines: see README, "GPU machines".
TORCH_SPEC ?= torch==2.13.0
DATA_DIR ?= $(or $(AUXLSTM_DATA_DIR),$(HOME)/.cache/auxlstm)
SWEEP_CONFIG ?= study/configs/quickstart.yaml
SWEEP_OUT ?= runs/quickstart

.PHONY: install data sweep test lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

data: install
	$(PY) -m data.prepare mnist --data-dir "$(DATA_DIR)"

sweep: data
	$(PY) -m study.train --config $(SWEEP_CONFIG) --data-dir "$(DATA_DIR)" --out $(SWEEP_OUT)

test: data
	AUXLSTM_DATA_DIR="$(DATA_DIR)" $(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) runs .pytest_cache
