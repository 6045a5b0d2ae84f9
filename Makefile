# The two commands: `make demo` (the sandbox) and `make test`. Each sets itself up first.
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup demo test test-fast soak burst fuzz lint bench constraints image-recipe faults e2e ha

setup:
	@scripts/setup-env.sh

# With Prometheus (scraping the operator and gateway, with the alert rules) when the prometheus binary is there.
demo: setup
	$(VENV)/bin/sreops sandbox $(if $(shell command -v prometheus),--prometheus) $(ARGS)

# Two workers, a test file each at a time: most integration time is waiting on processes, not CPU
# (module-scoped fixtures stay within their file).
PYTEST_WORKERS ?= 2
test: setup
	$(PY) -P -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(ARGS)

test-fast: setup
	$(PY) -P -m pytest -m "not slow" $(ARGS)

# The soak test for SOAK_MINUTES (make test runs it for 30 s): the operator across watch reconnects
# under continuous activity; prints what it counted.
SOAK_MINUTES ?= 30
soak: setup
	SREOPS_SOAK_SECONDS=$$(( $(SOAK_MINUTES) * 60 )) $(PY) -P -m pytest -s -q -p no:cacheprovider tests/integration/test_soak.py $(ARGS)

# A burst of 500 notifications through the real operator (about two minutes; make test runs the delivery's form).
burst: setup
	SREOPS_BURST=1 $(PY) -P -m pytest -s -q -p no:cacheprovider tests/integration/test_notifier_burst.py $(ARGS)

# The gateway's long forms (make test runs reduced ones): schemathesis with 1,200 cases, 2,000 malformed
# requests to every route, and the real 10,000-a-day limit over HTTP.
fuzz: setup
	SREOPS_FUZZ_CASES=1200 SREOPS_FUZZ_REQUESTS=2000 SREOPS_GATEWAY_DAY_LIMIT=10000 $(PY) -P -m pytest -s -q -p no:cacheprovider tests/integration/test_gateway_fuzz.py tests/integration/test_gateway_api.py $(ARGS)

# The Dockerfile's recipe run exactly, bytecode compilation included (make test skips compiling; ~1 minute more).
image-recipe: setup
	SREOPS_IMAGE_FULL=1 $(PY) -P -m pytest -q -p no:cacheprovider tests/deploy/test_image_recipe.py $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	scripts/typecheck.sh

# No -P here: bench/ is imported from the repo root (safe once setup has installed the package).
bench: setup
	$(PY) -m bench $(ARGS)

# Re-pin after changing dependencies in pyproject.toml.
constraints: setup
	$(PY) -P -m pip freeze --exclude-editable | grep -v '^sreops' > constraints.txt

# The fault suite (tests/faults/): the real operator under AWS throttling/5xx/outages, Kubernetes 429s and
# latency, expired and revoked credentials, SIGKILLs and a SIGTERM; prints the checker's table.
# FAULTS_SIZE=small for a few objects (about five minutes); default the issue's sizes (200 policies, 10 kills).
FAULTS_SIZE ?= 1
faults: setup
	SREOPS_FAULTS_FULL=$(FAULTS_SIZE) $(PY) -P -m pytest -s -q -p no:cacheprovider tests/faults $(ARGS)

# The end-to-end suite (tests/e2e/): starts the sandbox, or with SREOPS_E2E_KUBECONFIG a real cluster (docs/testing.md).
e2e: setup
	SREOPS_E2E=1 $(PY) -P -m pytest -v -p no:cacheprovider tests/e2e $(ARGS)

# High availability at the acceptance sizes: 200 policies through SIGKILL/SIGSTOP failovers, 3,000 over 3 shards + unlabelled.
ha: setup
	SREOPS_HA_FULL=1 $(PY) -P -m pytest -s -q -p no:cacheprovider tests/integration/test_high_availability.py $(ARGS)
