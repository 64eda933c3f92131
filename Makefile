# Two entry points for a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install db clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when requirements.txt changes.
$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# A random key kept under instance/ so that `make run` works without set-up and
# sessions survive a restart; production sets SECRET_KEY itself.
DEV_SECRET := instance/dev-secret-key
WITH_SECRET = SECRET_KEY="$${SECRET_KEY:-$$(cat $(DEV_SECRET))}"

$(DEV_SECRET):
	mkdir -p instance
	$(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@

db: install $(DEV_SECRET)
	$(WITH_SECRET) $(FLASK) db upgrade
	@if $(WITH_SECRET) $(FLASK) db-is-empty; then $(WITH_SECRET) $(FLASK) seed-demo; fi

# Links in e-mails point at the address served; without a mail server, e-mails are written
# under instance/outbox/ and shown at /dev/outbox (development only). Beside the server, a
# loop lets unconfirmed holds lapse every minute, as cron does in production.
RUN_ENV = $(WITH_SECRET) PUBLIC_BASE_URL="$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)}" \
	DEV_OUTBOX="$${DEV_OUTBOX:-$$(if [ -n "$${MAIL_SERVER:-}" ]; then echo false; else echo true; fi)}"

run: db
	@$(RUN_ENV) sh -c 'while sleep 60; do $(FLASK) expire-holds >/dev/null 2>&1; done' & \
	sweeper=$$!; trap 'kill $$sweeper 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(FLASK) run --host $(HOST) --port $(PORT)

# The suite on every core (pytest-xdist): each worker on a database of its own (see
# tests/conftest.py), each test file on one worker. PYTEST_WORKERS=0 runs it in one process;
# under --pdb, `auto` does that by itself.
PYTEST_WORKERS ?= auto

# pytest's exit code 5 means no test was collected: a broken suite, never a pass.
test: install
	@$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit $$code

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
