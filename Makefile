# Every target sets up what it needs, idempotently: a fresh machine runs `make sweep` or `make test` directly.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build, taken from local disk on the project's machines. GPU machines: see README, "GPU machines".
TORCH_SPEC ?= torch==2.13.0
DATA_DIR ?= $(or $(AUXLSTM_DATA_DIR),$(HOME)/.cache/auxlstm)
# Extra arguments of `make sweep`, e.g. SWEEP_ARGS="--study paper-mnist --address auto --storage s3://bucket/sweeps".
SWEEP_ARGS ?=
# Extra arguments of `make ui`, e.g. UI_ARGS="--port 5001".
UI_ARGS ?=

# Debian packages holding the offline stand-in datasets (Fashion-MNIST for CIFAR-10, WordNet for DBpedia).
DEB_DATA := dataset-fashion-mnist wordnet-base
DEB_FILES := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz /usr/share/wordnet/data.noun
# The browser the MLflow UI test drives headless through Playwright (tests/e2e/test_mlflow_browser.py).
DEB_BROWSER := chromium fonts-liberation

.PHONY: install data system-data browser sweep ui test test-shared-ray test-rest test-fast lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev]"
	# FlashRNN for the kernel exactness tests, which run its pure-PyTorch loop; without its GPU-only dependencies
	# (triton, ninja), which the `gpu` extra brings on GPU machines
	$(PY) -m pip install -q --no-deps "flashrnn==1.0.8"
	touch $@

data: install
	$(PY) -m data.prepare mnist --data-dir "$(DATA_DIR)"

sweep: data
	$(PY) -m study.sweep --data-dir "$(DATA_DIR)" $(SWEEP_ARGS)

# The MLflow UI on 127.0.0.1:5000 for ./mlflow.db (where `make sweep` logs); prints the latest sweep's runs URL.
ui: install
	$(PY) -m study.ui $(UI_ARGS)

system-data:
	@if ls $(DEB_FILES) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_DATA); \
	else \
		echo "missing $(DEB_FILES): run 'sudo apt-get install $(DEB_DATA)' (see README, Data)" >&2; exit 1; \
	fi

browser:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_BROWSER); \
	else \
		echo "missing chromium (the MLflow UI test drives it): run 'sudo apt-get install $(DEB_BROWSER)' (see README, Testing)" >&2; exit 1; \
	fi

# Everything, as CI runs it: two pytest processes side by side, each running its tests one at a time. One holds
# every test on the session's shared Ray cluster (tests/conftest.py marks them `shared_ray`), the other the rest,
# the namespaced cluster's included; much of either is waiting (for Ray, servers, subprocesses), so they overlap.
# The set-up runs first, one step at a time (two of them may call apt-get), so the parallel half finds it done.
test: data system-data browser
	$(MAKE) -j2 --output-sync=target test-shared-ray test-rest

test-shared-ray test-rest: data system-data browser
	AUXLSTM_DATA_DIR="$(DATA_DIR)" $(PY) -m pytest -q -p no:cacheprovider \
		-m "$(if $(filter test-rest,$@),not )shared_ray"

# While iterating: no end-to-end sweep and nothing marked slow (under 2 minutes on 2 cores); `make test` before a push.
test-fast: data system-data
	AUXLSTM_DATA_DIR="$(DATA_DIR)" $(PY) -m pytest -q -m "not e2e and not slow"

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) runs sweeps .pytest_cache
