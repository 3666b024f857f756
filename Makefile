# One set of commands for README, CI and developers. Every target sets itself up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# SAM CLI pins many libraries of its own: it lives in a venv apart from the app's.
SAM_VENV := .venv-sam
SAM      := $(SAM_VENV)/bin/sam
LAMBDA_RUNTIME := .aws-sam/lambda-runtime
export SAM_CLI_TELEMETRY := 0

.PHONY: install servers sam validate build test lint security audit bench bench-pipeline bench-coldstart bench-bounces bench-report bench-publish demo \
	local-stack local-run local-world invoke clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

servers:
	@scripts/ensure-servers

sam: $(SAM_VENV)/.installed

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli cfn-lint
	touch $@

validate: sam
	$(SAM) validate --lint --region us-east-1
	$(SAM_VENV)/bin/cfn-lint template.yaml

# The deployable artifacts (.aws-sam/build): layer wheels for arm64/python3.13, no Docker.
# Beside them, what the Lambda Python runtime brings itself (boto3), for running them here.
# Rebuilt when anything the build copies changes: every file of the functions and of the layer
# (subpackages and data files included) but bytecode and pip's egg-info, and their folders, so that
# a file removed or renamed rebuilds too.
BUILT := .aws-sam/build/.built
SOURCES := template.yaml $(shell find functions layers/senderwatch \( -name __pycache__ -o -name '*.egg-info' \) \
	-prune -o -print)
build: $(BUILT) $(LAMBDA_RUNTIME)/.installed

# The layer's Makefile fetches wheels with pip: the project venv's, not whatever python3 is around.
$(BUILT): $(SOURCES) | sam $(STAMP)
	BUILD_PYTHON="$(abspath $(BIN)/python)" $(SAM) build
	touch $@

# boto3 from PyPI, standing in for the one the Lambda runtime has (compiled, as the runtime's is).
$(LAMBDA_RUNTIME)/.installed: | $(STAMP)
	$(BIN)/python -m pip install --quiet --target $(LAMBDA_RUNTIME) --python-version 3.13 \
		--only-binary=:all: --platform manylinux2014_aarch64 --implementation cp boto3
	$(BIN)/python -c "from local.pipeline import lambda_python; print(lambda_python())" > $(LAMBDA_RUNTIME)/.python
	"$$(cat $(LAMBDA_RUNTIME)/.python)" -m compileall -q -j 0 $(LAMBDA_RUNTIME) >/dev/null
	touch $@

test: $(STAMP) servers build
	$(BIN)/pytest -q

# Scanners in a venv of their own too. checkov: the template (each skip justified in its Metadata);
# bandit: the package and handlers, medium severity and up.
SEC_VENV := .venv-sec

$(SEC_VENV)/.installed:
	$(PYTHON) -m venv $(SEC_VENV)
	$(SEC_VENV)/bin/pip install --quiet checkov bandit pip-audit
	touch $@

security: $(SEC_VENV)/.installed
	$(SEC_VENV)/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download
	$(SEC_VENV)/bin/bandit -q -r layers/senderwatch/senderwatch functions -ll

# Known vulnerabilities in the layer's and the command's dependencies. Needs a vulnerability
# database (PyPI's per-release JSON API or OSV); --strict fails when a package could not be audited.
audit: $(SEC_VENV)/.installed $(STAMP)
	$(SEC_VENV)/bin/pip-audit --strict -r layers/senderwatch/requirements.txt
	$(SEC_VENV)/bin/pip-audit --strict --path $(wildcard $(VENV)/lib/python3*/site-packages)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) servers
	$(BIN)/python -m bench.dnsbl_bench
	$(BIN)/python -m bench.recursive_bench

bench-pipeline: $(STAMP) servers
	$(BIN)/python -m bench.pipeline_bench

# Each built function's init (its imports, Python 3.13, no site-packages) against `import boto3`.
bench-bounces: $(STAMP)
	$(BIN)/python -m bench.bounces_bench

bench-coldstart: $(STAMP) build
	$(BIN)/python -m bench.coldstart_bench

# The HTML report of 1,000 targets x 90 days: the time to build it, and its size.
bench-report: $(STAMP)
	$(BIN)/python -m bench.report_bench

# One publish with every channel on: each variant's size, the requests per alert, the time on moto.
bench-publish: $(STAMP)
	$(BIN)/python -m bench.publish_bench

demo: $(STAMP)
	$(BIN)/python -m local.demo

# The stack on a moto server and the demo's DNS world, running the pipeline as AWS would fire it
# (a target added is checked, the alerts go to the terminal and .local-stack/alerts.log); also for
# `sam local invoke --env-vars .local-stack/env.json` or `make invoke`; runs until Ctrl-C.
local-stack: $(STAMP)
	$(BIN)/python -m local.stack serve

# The daily schedule, now, in the running local stack: waits for the run and prints its alerts.
local-run: $(STAMP)
	$(BIN)/python -m local.stack run-now

# Change the running local stack's DNS world (.local-stack/world.json): CHANGE='list ADDRESS ZONE',
# 'clear ADDRESS', 'break ZONE timeout', 'fix ZONE', 'slow SECONDS', 'reset' (docs/developing.md).
CHANGE ?= show
local-world: $(STAMP)
	$(BIN)/python -m local.stack world $(CHANGE)

# What `sam local invoke FUNCTION -e EVENT` does, without Docker (see docs/developing.md, "Trying the functions").
FUNCTION ?= CheckerFunction
EVENT ?= events/sqs-check-batch.json
invoke: $(STAMP) build
	$(BIN)/python -m local.stack invoke $(FUNCTION) $(EVENT)

clean:
	rm -rf $(VENV) .venv-* .aws-sam .local-stack .artifacts .pytest_cache .ruff_cache .mypy_cache .hypothesis build \
		*.egg-info layers/senderwatch/*.egg-info
