# Two commands on a fresh machine: `make run` (app on the embedded default) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test test-unit test-integration test-e2e screenshots train clean chromium

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py serve

serve: $(STAMP)
	$(BIN)/gunicorn -c gunicorn.conf.py "main:create_app()"

chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: browser tests will fail"; }

test: $(STAMP) chromium
	$(BIN)/python -m pytest

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

test-e2e: $(STAMP) chromium
	$(BIN)/python -m pytest tests/e2e

# The browser tests write README's pictures to test-output/; this writes them over docs/screenshots.
screenshots: $(STAMP) chromium
	README_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/e2e

train: $(STAMP)
	$(BIN)/python main.py train

clean:
	rm -rf var test-output .pytest_cache
