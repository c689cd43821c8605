# Vigil: `make lab` runs the stack in local containers, `make test` is what CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath .)
VENV ?= $(ROOT)/.venv
PY ?= python3
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
export VIGIL_ROOT := $(ROOT)
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export PY_COLORS := 0
export ANSIBLE_NOCOLOR := 1

# Role scenarios: roles/<role>/molecule/<scenario>; cross-role scenarios: molecule/<scenario>.
ROLE_SCENARIOS := $(sort $(wildcard roles/*/molecule/*/molecule.yml))
CROSS_SCENARIOS := $(sort $(wildcard molecule/*/molecule.yml))
# Limit with e.g. `make molecule MOLECULE_ONLY=node_exporter`
MOLECULE_ONLY ?=

.PHONY: help venv lint gates docs host-tools unit syntax molecule test check-secrets lab lab-down lab-check lab-images build clean bench engine engine-test

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# requirements.txt: what the collection needs to run; requirements-test.txt adds the
# test and lint tooling (and includes requirements.txt).
$(BIN)/ansible-playbook: requirements.txt requirements-test.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

venv: $(BIN)/ansible-playbook ## create .venv with the pinned runtime and test tooling

lint: venv ## yamllint, ansible-lint (production profile), copies between roles, syntax check, the collection gates
	yamllint --strict .
	ansible-lint --profile production
	python scripts/role_copies.py
	$(MAKE) --no-print-directory syntax
	scripts/gates.sh

gates: venv ## the collection gates alone: ansible-test sanity, galaxy-importer, ansible-doc, specs = defaults, README tables, changelog, EE
	scripts/gates.sh

docs: venv ## write the roles' README variable tables from meta/argument_specs.yml
	python scripts/role_docs.py

host-tools: ## install the host programs the tests call (promtool, amtool) when missing
	scripts/host-tools.sh

syntax: venv ## ansible-playbook --syntax-check on every playbook
	ansible-playbook -i inventories/lab --syntax-check site.yml
	ansible-playbook -i inventories/example --syntax-check site.yml

unit: venv host-tools ## pytest: unit and functional tests (ansible-playbook, promtool, amtool), every ECS pipeline on the test engine (started once), integration tests (skipped without VIGIL_IT_*)
	python -m pytest
	@# The stack check's tests run after a lab of half an hour: they must at least import now.
	python -m pytest -p no:cacheprovider -q --collect-only tests/lab --hosts=ansible://lab \
	  --ansible-inventory=inventories/lab --connection=ansible | tail -n 1

engine: venv ## run the test engine (OpenSearch 2.19 on loopback) in the foreground; prints its URL, Ctrl-C stops it
	scripts/engine.sh run

engine-test: venv ## only the engine tests (every ECS pipeline on its cases); fails if the engine cannot start
	VIGIL_REQUIRE_ENGINE=1 python -m pytest tests/engine

lab-images: ## Docker engine + vigil/debian12-systemd and vigil/debian13-systemd images
	scripts/lab-images.sh

molecule: venv lab-images ## every Molecule scenario (role and cross-role) and the stack check (lab-check)
	scripts/molecule-all.sh $(MOLECULE_ONLY)

# The order (images, then the stack check, in the background while lint and unit run;
# then the scenarios) and the final check of every log for planted secrets: scripts/test.sh.
test: venv host-tools ## everything CI runs
	scripts/test.sh

check-secrets: ## fail if a planted secret (VIGIL-MARKER...) is in the logs of the last test run
	scripts/check-no-secrets.py

lab: venv lab-images ## create the lab containers and run site.yml on them
	scripts/lab.sh up

lab-down: ## remove the lab containers
	scripts/lab.sh down

lab-check: venv lab-images ## the stack test: converge twice (changed=0), check mode, API checks, a late host, then remove the lab
	scripts/lab-check.sh

bench: venv lab-images ## benchmark site.yml on labs of 5, 15 and 30 hosts (prints the figures)
	python scripts/bench_lab.py

build: venv ## build the collection tarball vigil-monitoring-*.tar.gz
	ansible-galaxy collection build --force --output-path build/

clean: ## remove build output and caches
	rm -rf build .cache .pytest_cache
