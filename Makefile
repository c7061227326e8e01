# replykit: `make demo` sets everything up and serves the app; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOME_DIR ?= replykit-data
STAMP := $(VENV)/.installed

.PHONY: install demo test bench eval serve clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build (anything else pulls gigabytes of CUDA)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@if [ ! -f $(HOME_DIR)/replykit.db ]; then $(VENV)/bin/replykit --home $(HOME_DIR) demo; \
	else echo "Using existing demo data in $(HOME_DIR) (delete it to start over)"; fi
	$(VENV)/bin/replykit --home $(HOME_DIR) serve --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench.suggest_bench

eval: $(STAMP)
	$(PY) -m bench.public_eval

clean:
	rm -rf $(VENV) $(HOME_DIR)
