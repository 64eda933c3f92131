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

run: db
	$(WITH_SECRET) $(FLASK) run --host $(HOST) --port $(PORT)

# pytest's exit code 5 means no test was collected: a broken suite, never a pass.
test: install
	@$(BIN)/python -m pytest $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit $$code

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
