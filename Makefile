# The two commands that matter:  make run  (set up and serve locally)  and  make test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: help setup run test lint unit toolchain bench schema chart-docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The runtime tree is pinned by constraints.txt, the same pins the Docker image installs.
$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --constraint constraints.txt pip
	$(PY) -m pip install --quiet --constraint constraints.txt -e '.[test]'
	touch $@

setup: $(VENV)/.installed ## create .venv and install the package with test tools

certs/tls.crt: | $(VENV)/.installed
	$(BIN)/egress-webhook certs --out-dir certs --service egress-webhook --namespace egress-webhook \
	  --dns localhost --ip 127.0.0.1

run: $(VENV)/.installed certs/tls.crt ## serve HTTPS admission reviews on 127.0.0.1:8443 with examples/policy.yaml
	$(BIN)/egress-webhook serve --policy examples/policy.yaml \
	  --tls-cert certs/tls.crt --tls-key certs/tls.key --host 127.0.0.1 --port 8443

toolchain: ## build kube-apiserver, etcd, kubectl, helm, opa, promtool, helm-docs; fetch CRDs (cached)
	tests/e2e/toolchain/build.sh
	tests/chart/toolchain/build.sh
	bench/build-opa.sh

lint: $(VENV)/.installed ## ruff, mypy --strict, import-linter (layers), hadolint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

unit: $(VENV)/.installed ## everything that needs only Python: no cluster, no helm or opa (no Go)
	$(BIN)/pytest tests -m "not e2e and not toolchain"

test: $(VENV)/.installed toolchain lint ## the whole suite: lint, unit, integration, real-cluster e2e
	$(BIN)/pytest tests

schema: $(VENV)/.installed ## regenerate the policy and test-suite JSON Schemas (examples/, the chart)
	$(BIN)/egress-webhook schema > examples/policy.schema.json
	$(BIN)/egress-webhook schema --suite > examples/suite.schema.json
	$(BIN)/egress-webhook schema --chart-values charts/egress-webhook/values.schema.json

chart-docs: ## regenerate the chart README's values table from values.yaml (helm-docs)
	tests/chart/toolchain/build.sh >/dev/null
	$${EGRESS_WEBHOOK_CACHE:-$$HOME/.cache/egress-webhook}/bin/helm-docs --chart-search-root charts/egress-webhook \
	  --template-files README.md.gotmpl --sort-values-order file

bench: $(VENV)/.installed ## benchmarks; print their figures
	$(PY) -m bench

clean: ## remove the venv and caches (not the toolchain cache in ~/.cache/egress-webhook)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
