# replykit: `make demo` sets everything up and serves the app; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOME_DIR ?= replykit-data
STAMP := $(VENV)/.installed

.PHONY: install translations demo test test-postgres bench bench-servers eval serve clean chromium screenshots crash load fuzz

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build (anything else pulls gigabytes of CUDA)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The interface's gettext catalogs (web/translations, docs/web.md "Languages"): extract the
# strings of the templates and web/*.py, merge them into the Thai and Persian .po files, and
# compile the .mo files the app reads (committed; tests/web/test_i18n.py checks they are current).
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k lazy_gettext --no-location --sort-output \
		--project replykit -o web/translations/messages.pot .
	$(VENV)/bin/pybabel update -i web/translations/messages.pot -d web/translations \
		--no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile -d web/translations --statistics

demo: $(STAMP)
	@if [ ! -f $(HOME_DIR)/replykit.db ]; then $(VENV)/bin/replykit --home $(HOME_DIR) demo; \
	else echo "Using existing demo data in $(HOME_DIR) (delete it to start over)"; fi
	$(VENV)/bin/replykit --home $(HOME_DIR) users demo
	@echo "Open http://127.0.0.1:5000/ and sign in with a demo login above."
	$(VENV)/bin/replykit --home $(HOME_DIR) serve --host 127.0.0.1 --port 5000

# Two processes (pytest-xdist): each runs torch on one thread, so two use a 2-core machine.
test: $(STAMP) chromium
	$(PY) -m pytest -q -n 2

# The whole suite on PostgreSQL (an embedded server per session; modules marked both_backends
# run on both in `make test` already; SQLite-only tests say so and skip or keep SQLite).
test-postgres: $(STAMP) chromium
	REPLYKIT_TEST_BACKEND=postgresql $(PY) -m pytest -q -n 2

# Debian's chromium (and fonts for Thai and Arabic script) for the browser tests; idempotent.
# Without apt (or root) it only warns: the browser tests then skip, saying why.
chromium:
	@command -v chromium >/dev/null 2>&1 || (command -v apt-get >/dev/null 2>&1 \
		&& apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		chromium fonts-noto-core fonts-thai-tlwg) \
		|| echo "chromium could not be installed: browser tests will be skipped"

# Screenshots of the main pages (English, Thai, Persian) into docs/screenshots/.
screenshots: $(STAMP) chromium
	$(PY) tests/web/screenshots.py

bench: $(STAMP)
	$(PY) -m bench.suggest_bench $(ARGS)
	$(PY) -m bench.write_latency
	$(PY) -m bench.cold_start --sizes 100000
	$(PY) -m bench.ivf_bench --size 100000
	$(PY) -m bench.sync_bench

# Several serve processes and workers on one PostgreSQL database (docs/benchmarks.md):
# make bench-servers [ARGS="--database postgresql://... --servers 1,2,4"]
bench-servers: $(STAMP)
	$(PY) -m bench.pg_servers_bench $(or $(ARGS),--database embedded)

# Suggestion quality on the public sets, balanced and skewed, learning before/after and the
# effect of each ranking rule (docs/evaluation.md); ARGS="--every 5" for a quicker run.
eval: $(STAMP)
	$(PY) -m bench.public_eval --ablations $(ARGS)

# Kill the CLI's imports and rebuild at random moments, 50 times each (docs/crash-safety.md).
crash: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -s -m slow tests/test_crash.py

# Load test (issue 7): 8 clients, >= 60 s and >= 10,000 requests against `replykit serve`; then
# 1, 4 and 8 clients against the raw floor with as many threads, micro-batching on and off.
load: $(STAMP)
	$(PY) -m bench.load_bench --clients 8 --seconds 60 --min-requests 10000 --sweep 1,4,8

# Fuzz every parser with 10,000 generated inputs and the JSON API with schemathesis (400
# examples per operation, with an admin's token) (docs/bad-input.md); the full log with
# hypothesis statistics goes to build/fuzz-report.txt, the inputs per test are printed.
fuzz: $(STAMP)
	@mkdir -p build
	@REPLYKIT_FUZZ=1 $(PY) -m pytest -q -p no:cacheprovider tests/fuzz \
		--hypothesis-show-statistics > build/fuzz-report.txt 2>&1; status=$$?; \
	grep -E "^tests/fuzz|passing|^[0-9]+ (passed|failed)|^FAILED" build/fuzz-report.txt; \
	exit $$status

clean:
	rm -rf $(VENV) $(HOME_DIR)
