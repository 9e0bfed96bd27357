# One entry point for every check: `make test` (lint, sanity, unit, conformance, molecule, the real-cluster proof),
# `make lab` (the main job on the lab inventory), `make bench` (benchmarks, figures side by side).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT      := $(abspath .)
VENV      := $(ROOT)/.venv
PY        := $(VENV)/bin/python
BIN       := $(VENV)/bin
SHARED    ?= $(abspath $(ROOT)/../shared)
BUILD     := $(ROOT)/build
# The checkout seen as an installed collection (symlink) for ansible, molecule and pytest.
COLLROOT  := $(BUILD)/collections
# The venv's own site-packages and Python version, asked from its python (any 3.10-3.12), not assumed.
PYTHON    ?= python3
SITE       = $(shell test -x $(PY) && $(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PYVERSION  = $(shell test -x $(PY) && $(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# ansible-test needs the collection physically under ansible_collections/<ns>/<name>.
ATROOT    ?= $(BUILD)/ansible-test/ansible_collections
ATCOLL    := $(ATROOT)/netzone/segmentation

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH = $(COLLROOT):$(SITE)
export PYTHONPATH := $(COLLROOT)
export ANSIBLE_FORCE_COLOR := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help deps venv collection test lint sanity unit compat fuzz conformance npguard molecule lab bench mutation coverage clean cluster-build cluster-proof

help:
	@echo "make lab    - install everything and run site.yml on the lab inventory (this machine)"
	@echo "make test   - lint, sanity, unit, conformance, molecule and the live cluster proof"
	@echo "make bench  - benchmarks (figures and ratios, side by side), written into docs/benchmarks.md"
	@echo "make compat - the unit tests on Python 3.10 and 3.12, on the oldest ansible-core meta/runtime.yml claims and the pinned one"
	@echo "make fuzz   - the property tests with random draws, NZ_FUZZ_FACTOR (20) times their examples"
	@echo "make cluster-proof - build the real components if needed, start them, apply the matrix, probe with packets"
	@echo "make mutation - mutation testing: every module and plugin with cosmic-ray (sampled, stratified; MUTATION_ARGS), then the admission policies' CEL (MUTATION_CEL_ARGS)"
	@echo "make coverage - line and branch coverage of plugins/ while the unit tests run (build/coverage.txt)"

## --- setup -----------------------------------------------------------------------------------
deps: $(BUILD)/.deps-stamp
$(BUILD)/.deps-stamp: bindep.txt
	@mkdir -p $(BUILD)
	@pkgs=$$(sed -e 's/#.*//' -e 's/\[.*\]//' bindep.txt | xargs); \
	missing=$$(for p in $$pkgs; do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done | xargs); \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing $$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  if [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\n# make deps: packaged daemons (named, keepalived) stay stopped\nexit 101\n' > /usr/sbin/policy-rc.d; \
	    chmod 0755 /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT; \
	  fi; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  case " $$missing " in *" squid "*) /etc/init.d/squid stop >/dev/null 2>&1 || true;; esac; \
	fi
	@touch $@

venv: $(VENV)/.stamp collection
$(VENV)/.stamp: requirements.txt | deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

collection: $(COLLROOT)/ansible_collections/netzone/segmentation
$(COLLROOT)/ansible_collections/netzone/segmentation:
	mkdir -p $(COLLROOT)/ansible_collections/netzone
	ln -sfn ../../../.. $@

## --- checks ----------------------------------------------------------------------------------
test: lint sanity unit conformance molecule cluster-proof
	@echo "make test: all checks passed"

# ANSIBLE_HOME in build/: ansible-lint puts <ANSIBLE_HOME>/collections first in the collection path, so a copy of
# this collection that anything else installed in ~/.ansible/collections would be linted against instead of the checkout.
lint: venv
	cd $(ROOT) && ANSIBLE_HOME=$(BUILD)/ansible-home ansible-lint --profile production
	cd $(ROOT) && antsibull-changelog lint

# ansible-test runs on a copy of the tracked tree, with the dependency collections beside it.
# Offline, it cannot fetch its get-pip bootstrap: seed its cache with a shim over a pip wheel.
sanity: venv
	$(PY) tools/seed_get_pip.py
	rm -rf $(ATCOLL) && mkdir -p $(ATCOLL)
	git ls-files -co --exclude-standard -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C $(ATCOLL)
	for ns in ansible community kubernetes; do ln -sfn $(SITE)/ansible_collections/$$ns $(ATROOT)/$$ns; done
	cd $(ATCOLL) && git init -q . && git add -A && \
	  ansible-test sanity --venv --python $(PYVERSION) --color no

# Hypothesis derandomized, no example database (tests/conftest.py): the same draws on every run and clone.
unit: venv
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q -p no:cacheprovider tests/unit tests/integration

# Not part of `make test` (minutes: a venv per target, made once with uv, then the unit tests in each):
# the unit tests on the oldest ansible-core meta/runtime.yml claims and on the pinned one, on Python 3.10 and
# 3.12 (`make unit` is the pinned core on the venv's Python). COMPAT='PY:CORE ...' picks other targets.
OLDEST_CORE := $(shell sed -n 's/^requires_ansible: *">=\([0-9.]*\)".*/\1/p' meta/runtime.yml)
PINNED_CORE := $(shell sed -n 's/^ansible-core==\([0-9.]*\).*/\1/p' requirements.txt)
COMPAT ?= 3.10:$(OLDEST_CORE) 3.12:$(OLDEST_CORE) 3.12:$(PINNED_CORE)
compat: venv
	$(PY) tools/compat.py $(COMPAT)

# Not part of `make test`: longer random runs of the property tests; a failure prints its reproduction blob.
FUZZ_ARGS ?=
fuzz: venv
	HYPOTHESIS_PROFILE=fuzz NZ_FUZZ_FACTOR=$${NZ_FUZZ_FACTOR:-20} $(BIN)/pytest -q -p no:cacheprovider \
	  $(FUZZ_ARGS) tests/unit tests/integration

conformance: venv
	$(PY) tests/conformance/run_netpol.py $(SHARED)/conformance/netpol tests/conformance/netpol
	$(PY) tests/conformance/run_crs.py --min-pass-rate 97.5 $(SHARED)/conformance/crs

# The cluster policy engine against np-guard's netpol-analyzer (its `netpolicy` binary, built from its source
# outside the clone: NETZONE_NPGUARD or /var/cache/netzone-segmentation/bin/netpolicy); not part of `make test`.
npguard: venv
	$(PY) tests/conformance/run_npguard.py

molecule: venv cluster-build
	@for s in $$(ls -d molecule/*/ 2>/dev/null | xargs -n1 basename | grep -v '^_' | grep -v '^vagrant$$'); do \
	  echo "=== molecule scenario $$s"; \
	  molecule test -s $$s 2>&1 | tee $(BUILD)/molecule-$$s.log || { \
	    echo "=== molecule scenario $$s failed; what failed:"; $(PY) tools/molecule_failures.py $(BUILD)/molecule-$$s.log; exit 1; }; \
	done

# The real control plane and policy dataplane (tests/cluster/): binaries and Go caches outside the clone,
# in $(NETZONE_CACHE); a second run rebuilds nothing. Versions: tests/cluster/versions.env.
NETZONE_CACHE ?= /var/cache/netzone-segmentation
export NETZONE_CACHE
cluster-build: deps
	nice -n 5 python3 tools/build_cluster.py

cluster-proof: venv cluster-build
	$(PY) -u tests/cluster/proof.py --json $(BUILD)/cluster-proof.json

## --- the main job -----------------------------------------------------------------------------
lab: venv
	ansible-playbook -i inventories/lab playbooks/site.yml
	@cat build/lab/next-steps.txt

# Every benchmark, or those in BENCHES; their figures go into docs/benchmarks.md (one section each, with the
# date, the machine, the command and the commit); bench_zones.py and bench_proof.py start the real cluster
# (tests/cluster/, built by cluster-build; one at a time, they wait for another harness); BENCH_ARGS passes arguments, e.g.
# BENCH_ARGS="--args bench_zones.py='--sizes 20'".
BENCHES ?= $(sort $(wildcard tests/bench/bench_*.py))
BENCH_ARGS ?=
bench: venv cluster-build
	$(PY) tools/bench_page.py $(BENCH_ARGS) $(BENCHES)

# Not part of `make test`: line and branch coverage of plugins/ while the unit tests run (`make unit`'s tests,
# in-process only: modules that ansible-playbook runs in a subprocess are not measured). Report: build/coverage.txt.
coverage: venv
	HYPOTHESIS_PROFILE=ci COVERAGE_FILE=$(BUILD)/.coverage $(BIN)/coverage run --branch --source=$(ROOT)/plugins \
	  -m pytest -q -p no:cacheprovider tests/unit tests/integration
	COVERAGE_FILE=$(BUILD)/.coverage $(BIN)/coverage report --show-missing --skip-covered > $(BUILD)/coverage.txt
	COVERAGE_FILE=$(BUILD)/.coverage $(BIN)/coverage json -q -o $(BUILD)/coverage.json
	@$(PY) -c 'import json, sys; t = json.load(open(sys.argv[1]))["totals"]; \
	  print("plugins/: lines %d of %d (%.1f%%), branches %d of %d (%.1f%%); missing lines and partial branches per file: %s" % ( \
	  t["covered_lines"], t["num_statements"], 100.0 * t["covered_lines"] / t["num_statements"], \
	  t["covered_branches"], t["num_branches"], 100.0 * t["covered_branches"] / t["num_branches"], sys.argv[2]))' \
	  $(BUILD)/coverage.json $(BUILD)/coverage.txt

# Not part of `make test`: cosmic-ray in its own venv, on a copy of the tree, a sample of its mutants stratified
# by module over every module and plugin file (at least 14 each, so that two survivors still leave a file at 85%),
# then a sample of the admission policies' CEL mutants. Timings in docs/mutation.md.
MUTATION_ARGS ?= --modules all --sample 900 --min-per-module 14 --jobs 2 --module-floor 85
MUTATION_CEL_ARGS ?= --sample 40
mutation: venv
	test -x $(BUILD)/cr-venv/bin/cosmic-ray || { python3 -m venv $(BUILD)/cr-venv && \
	  $(BUILD)/cr-venv/bin/pip install -q -r requirements-mutation.txt; }
	SHARED=$(SHARED) $(BUILD)/cr-venv/bin/python tools/mutation.py $(MUTATION_ARGS)
	SHARED=$(SHARED) $(BUILD)/cr-venv/bin/python tools/mutation_cel.py $(MUTATION_CEL_ARGS)

clean:
	rm -rf $(BUILD)
