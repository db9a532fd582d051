# Fanout — the two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test stop bench backup restore install messages clean
.DEFAULT_GOAL := run

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Fanout needs Python 3.11 ($(PYTHON) not found); set PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(VENV)/bin/pip || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq python3.11-venv && rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); \
	  else echo "Python's venv module is missing: sudo apt-get install python3.11-venv"; exit 1; fi; }
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start PostgreSQL + Redis (private ones unless DATABASE_URL/REDIS_URL are set), migrate,
## seed the demo seller and start web, Celery worker and beat in the background.
run: $(STAMP)
	@$(VPY) -m erp.devstack run

## The whole test suite against real PostgreSQL, Redis, a Celery worker and Chromium.
## make test FAST=1: the daily lane, without the browser and worker-process tests.
test: $(STAMP)
	@$(VPY) -m erp.devstack test $(if $(FAST),-m "not browser and not worker") $(ARGS)

## Stop what `make run` started (and the private servers).
stop:
	@test -x $(VPY) && $(VPY) -m erp.devstack stop || true

## make bench NAME=tenants
bench: $(STAMP)
	@$(VPY) -m erp.devstack bench $(NAME) $(ARGS)

## make backup [SELLER=demo] [FILE=path]: one seller, or without SELLER the whole database.
backup: $(STAMP)
	@$(VPY) -m erp.devstack manage backup $(if $(SELLER),--seller $(SELLER)) $(if $(FILE),--output $(FILE))

## make restore FILE=path [REPLACE=1]: a seller backup, or a whole-database one (needs REPLACE=1).
restore: $(STAMP)
	@test -n "$(FILE)" || { echo "make restore FILE=<backup file> [REPLACE=1]"; exit 2; }
	@$(VPY) -m erp.devstack manage restore $(FILE) $(if $(REPLACE),--replace)

messages: $(STAMP)
	cd $(CURDIR) && $(VPY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=.var && $(VPY) manage.py compilemessages --ignore=.venv

clean: stop
	rm -rf .var $(VENV)
