# Two commands set everything up: `make demo` and `make test`. Both create .venv if needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck pytest demo vectors bench clean fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	mkdir -p .mypy_path/coopfed
	ln -sfn ../../protocol .mypy_path/coopfed/protocol
	ln -sfn ../../node .mypy_path/coopfed/node
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check protocol node tests spec bench
	$(BIN)/ruff check --config protocol/ruff.toml protocol

typecheck: $(STAMP)
	$(BIN)/mypy -p coopfed.protocol -p coopfed.node

pytest: $(STAMP)
	$(BIN)/python -bb -m pytest --ignore=tests/browser --ignore=tests/deploy $(PYTEST_ARGS)

# The whole suite: lint, types, and every test on SQLite and PostgreSQL.
test: lint typecheck pytest

# $(call debian,COMMAND:PACKAGE ...): install Debian's PACKAGE for each COMMAND not on the
# PATH, when we are root and have apt-get; else say what is missing (the tests then skip,
# or fail under CI). Tools are never downloaded from anywhere else.
define debian
	@missing=""; for pair in $(1); do \
	    command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	        echo "Installing Debian's$$missing for $@"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	    else \
	        echo "Missing for $@:$$missing (apt-get install$$missing)"; \
	    fi; \
	fi
endef

# The members' web app in headless Chromium: Debian's package, installed here when missing
# and we are root (a browser is never downloaded by Playwright). Screenshots of every page,
# at phone and desktop widths, land in test-artifacts/screenshots/.
CHROMIUM ?= /usr/bin/chromium
.PHONY: test-browser
test-browser: $(STAMP)
	$(call debian,$(CHROMIUM):chromium)
	COOPFED_CHROMIUM=$(CHROMIUM) $(BIN)/python -bb -m pytest tests/browser $(PYTEST_ARGS)

# The deployment (deploy/, README "Operate a co-op node"): Caddy with deploy/Caddyfile and
# its local CA in front of a real `coopfed serve`, the command line and aiohttp over TLS,
# the web app over https:// in headless Chromium (trusting Caddy's CA through certutil), and
# the files checked by the tools that read them (caddy adapt, systemd-analyze). Installing
# Debian's caddy starts its default service where systemd runs: it is stopped again.
.PHONY: test-deploy
test-deploy: $(STAMP)
	$(call debian,caddy:caddy certutil:libnss3-tools systemd-analyze:systemd $(CHROMIUM):chromium)
	@if [ "$$(id -u)" = 0 ] && systemctl is-active --quiet caddy 2>/dev/null; then \
	    systemctl disable --now caddy; \
	fi
	COOPFED_CHROMIUM=$(CHROMIUM) $(BIN)/python -bb -m pytest tests/deploy $(PYTEST_ARGS)

# The container image: deploy/Dockerfile built with Podman and run as deploy/compose.yaml
# runs it (about a minute). Without a reachable registry the base
# image is a stand-in made from Debian bookworm's python3 (3.11) by mmdebstrap.
# PODMAN_ARGS, PODMAN_RUN_ARGS: crun cannot start containers on a host without
# CAP_SYS_RESOURCE and with hybrid cgroups (as CI's VM); runc with lower limits can.
PODMAN_ARGS ?= --runtime runc
PODMAN_RUN_ARGS ?= --ulimit nofile=1024:1024 --ulimit nproc=4096:4096
.PHONY: test-image
test-image: $(STAMP)
	$(call debian,podman:podman runc:runc mmdebstrap:mmdebstrap)
	COOPFED_TEST_IMAGE=1 COOPFED_PODMAN_ARGS="$(PODMAN_ARGS)" \
	    COOPFED_PODMAN_RUN_ARGS="$(PODMAN_RUN_ARGS)" \
	    $(BIN)/python -bb -m pytest tests/deploy/test_image.py $(PYTEST_ARGS)

# The long hardening runs, outside the default suite (15-20 minutes on 2 cores):
# coverage-guided fuzzing of every decoder and endpoint (atheris, FUZZ_RUNS inputs in all),
# 100+ SIGKILLs of a real node during ingest on SQLite and on PostgreSQL, 100 during sync,
# and two node processes sharing one PostgreSQL database. Each prints its counts; any failure fails.
FUZZ_RUNS ?= 1500000
FUZZ_ENDPOINT_RUNS ?= 50000
CRASH_KILLS ?= 100
FUZZ_STAMP := $(VENV)/.fuzz-installed

$(FUZZ_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet 'atheris>=2.3'
	touch $(FUZZ_STAMP)

fuzz: $(FUZZ_STAMP)
	$(BIN)/python tests/fuzz/campaign.py --runs $(FUZZ_RUNS) --endpoint-runs $(FUZZ_ENDPOINT_RUNS) --work .fuzz
	$(BIN)/python tests/crash/harness.py --kills $(CRASH_KILLS) --backend sqlite
	$(BIN)/python tests/crash/harness.py --kills $(CRASH_KILLS) --backend postgres
	$(BIN)/python tests/crash/sync_harness.py --kills $(CRASH_KILLS)
	$(BIN)/python tests/crash/two_processes.py --seconds 20 --proposals 20

# Benchmarks against this machine's own limits (up to 20 minutes on 2 cores): one table,
# bench/out/latest.json (the issue's keys) and details.json; bench/RESULTS.md keeps the history.
# BENCH_ARGS='--only ingest,sync' picks some; '--profile DIR' samples nodes with py-spy.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

vectors: $(STAMP)
	$(BIN)/python spec/vectors/generate.py

demo: $(STAMP)
	$(BIN)/python -m coopfed.node.demo

clean:
	rm -rf $(VENV) .mypy_path .mypy_cache .pytest_cache .ruff_cache .fuzz
