# The two commands for a newcomer: `make lab` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A second, small environment with ipykernel 6 for the kernel-level test of the 2.2 cell
IPK6 ?= .venv-ipykernel6
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAB_PORT ?= 8888
# pytest-xdist workers, each with its own HOME and sandbox (conftest.py)
TEST_WORKERS ?= 4
HUB_PORT ?= 8000
HUB_USERS ?= 20
# Python may cache bytecode here even where the environment turns that off (PYTHONDONTWRITEBYTECODE=1,
# as in many containers): make test starts ~500 Python processes (kernels, sandboxes, aws), and
# without the cache each compiles the kit again and each pytest worker rewrites every test module.
unexport PYTHONDONTWRITEBYTECODE
# jsonschema's optional IRI format check (pulled in by jupyter-events) builds an Earley grammar each
# time jsonschema is imported: 1 CPU-s in every Jupyter server and pytest process. Nothing here
# checks IRIs, and jsonschema skips that format when the package is absent (hub.py's venv: the same).
UNUSED := rfc3987-syntax lark

.PHONY: setup dev lab test test-hub repeat hub lint unit nbval demo notebooks bench sandbox-status clean

setup: $(VENV)/.installed

dev: $(VENV)/.dev-installed $(IPK6)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip uninstall -qq --yes $(UNUSED)
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip uninstall -qq --yes $(UNUSED)
	touch $@

$(IPK6)/.installed: tests/requirements-ipykernel6.txt
	$(PYTHON) -m venv $(IPK6)
	$(IPK6)/bin/python -m pip install --quiet -r tests/requirements-ipykernel6.txt
	touch $@

lab: setup
	$(PY) -m handson_helpers.sandbox start
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) $(ROOT_FLAG) \
		--ServerApp.root_dir=notebooks --LabApp.default_url=/lab/tree/00_contents.ipynb

# One session: the tests and nbval over every notebook; --dist loadgroup keeps the notebooks, the browser
# cases and each notebook's restart sweep on one worker each
test: dev lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup tests notebooks --ignore=tests/test_hub.py --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg

# A JupyterHub workshop room on this machine (root: it makes the participants' Unix users); see README
hub: setup
	$(PY) -m handson_helpers.hub setup
	$(PY) -m handson_helpers.hub serve --port $(HUB_PORT)

# The hub proven with HUB_USERS real users through its REST API (root; CI runs it after make test)
test-hub: dev
	HANDSON_HUB_USERS=$(HUB_USERS) $(PY) -m pytest -p no:xdist tests/test_hub.py

# Concurrent code is done when it is green N of N times: the hub test and the browser tests REPEAT
# times from a fresh clone of HEAD (root, as test-hub), each run reported (tests/repeat.py)
REPEAT ?= 5
repeat:
	$(PYTHON) tests/repeat.py --runs $(REPEAT)

lint: dev
	$(VENV)/bin/ruff check handson_helpers tests conftest.py
	$(VENV)/bin/ruff format --check handson_helpers tests conftest.py
	$(VENV)/bin/mypy

unit: dev
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup tests --ignore=tests/test_hub.py

nbval: dev
	$(PY) -m pytest --nbval notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg

demo: setup
	$(PY) -m handson_helpers.run

notebooks: setup
	$(PY) -m handson_helpers.run --update

bench: dev
	$(PY) -m handson_helpers.bench $(BENCH_ARGS)

sandbox-status: setup
	$(PY) -m handson_helpers.sandbox status

clean:
	rm -rf $(VENV) $(IPK6) artifacts
