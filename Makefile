# Two commands do all set-up on a fresh machine:
#   make demo   runs the embedded demo (no servers)
#   make test   runs lint, type checks and every test, emulator suite included
# (`make dev` runs every function against the Google emulators: README, Run locally.)
# Both create .venv and install the pinned dependencies on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASYNCAPI_SPECS_VERSION := 6.11.1
ASYNCAPI_SPECS := $(VENV)/asyncapi-specs/$(ASYNCAPI_SPECS_VERSION)
ASYNCAPI_PARSER := tools/asyncapi/node_modules/.installed
CHECKOV_VENV := .tools/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

.PHONY: demo dev test lint typecheck terraform-check asyncapi-check contracts-check unit integration bench bench-dev clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fooddelivery demo $(ARGS)

dev: $(STAMP)
	$(BIN)/fooddelivery dev $(ARGS)

test: $(STAMP) lint typecheck $(ASYNCAPI_SPECS) terraform-check asyncapi-check contracts-check
	$(BIN)/pytest

# The contracts gate holds the code to the schemas published before this change, read
# from git: the committed files alone could be rewritten by the same change. The base is
# where this branch left origin/main or, on main itself (or without a remote), the
# previous commit; a first commit has only the working tree to check. A shallow clone
# is refused, not checked against nothing: fetch the history (CI: fetch-depth 0), or
# name a fetched base, `make test CONTRACTS_BASE=<sha>`.
CONTRACTS_BASE ?=

contracts-check: $(STAMP)
	$(BIN)/fooddelivery contracts check \
		$(if $(CONTRACTS_BASE),--against $(CONTRACTS_BASE),--against-branch origin/main)

# contracts/asyncapi.yaml as AsyncAPI tools read it: the official parser (npm, pinned in
# tools/asyncapi/package-lock.json) resolves every $ref and checks every payload schema.
asyncapi-check: $(ASYNCAPI_PARSER)
	cd tools/asyncapi && node validate.mjs ../../contracts/asyncapi.yaml

$(ASYNCAPI_PARSER): tools/asyncapi/package.json tools/asyncapi/package-lock.json
	cd tools/asyncapi && npm ci --silent --no-audit --no-fund
	touch $@

# The official AsyncAPI JSON Schemas (npm @asyncapi/specs), which the tests validate
# contracts/asyncapi.yaml against; no PyPI package ships them.
$(ASYNCAPI_SPECS):
	mkdir -p $@.tmp
	cd $@.tmp && npm pack --silent @asyncapi/specs@$(ASYNCAPI_SPECS_VERSION) >/dev/null
	tar -xzf $@.tmp/asyncapi-specs-$(ASYNCAPI_SPECS_VERSION).tgz -C $@.tmp
	mv $@.tmp/package $@ && rm -rf $@.tmp

# Terraform cannot init here (no provider registry): check formatting and scan for
# security problems offline. checkov's pins clash with ours, so it has its own venv.
terraform-check: $(CHECKOV)
	terraform fmt -check -recursive terraform
	$(CHECKOV) -d terraform --framework terraform --compact --quiet --skip-download

$(CHECKOV): terraform/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r terraform/checkov-requirements.txt
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

bench: $(STAMP)
	$(BIN)/python benchmarks/kit_throughput.py
	$(BIN)/python benchmarks/orders_embedded.py

bench-dev: $(STAMP)
	$(BIN)/python benchmarks/orders_emulators.py $(ARGS)

clean:
	rm -rf $(VENV) .tools tools/asyncapi/node_modules .pytest_cache .mypy_cache .ruff_cache build
