# The two commands for a newcomer: `make lab` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A second, small environment with ipykernel 6 for the kernel-level test of the 2.2 cell
IPK6 ?= .venv-ipykernel6
# A third, with Google Colab's kernel stack (ipykernel 6.17, IPython 7.34, ipywidgets 7.7) on Python 3.12:
# pyenv's 3.12 where there is one, else python3.12 on PATH
COLAB ?= .venv-colab
PYENV_ROOT ?= /root/.pyenv
COLAB_PYTHON ?= $(lastword python3.12 $(wildcard $(PYENV_ROOT)/versions/3.12.*/bin/python3.12))
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
# checks IRIs, and jsonschema skips that format when the package is absent: make lock leaves them out
# of every lock (the hub's venv too); make test-latest uninstalls them.
UNUSED := rfc3987-syntax lark
# make lab/test install exact versions with hashes from locks/ (make lock writes them from the ranges in
# pyproject.toml, which requirements.txt's -e . brings, requirements*.txt and hub.py); --no-deps: the lock is
# the whole environment, UNUSED left out of it.
PIP_LOCKED := -m pip install --quiet --no-deps --require-hashes
# $(call lock_for,PYTHON_VERSION): universal from that Python on (Colab's lock: 3.12)
lock_for = $(VENV)/bin/uv pip compile --quiet --universal --python-version $(1) --fork-strategy fewest --generate-hashes \
	--custom-compile-command 'make lock' $(foreach p,$(UNUSED) handson-iam-mfa,--no-emit-package $(p)) $(if $(UPGRADE),--upgrade)
LOCK := $(call lock_for,3.11)
# $(call hub_ranges,MAJOR): the hub's requirements with JupyterHub held to that major (hub.JUPYTERHUB_MAJORS)
hub_ranges = $(PY) -c 'from handson_helpers.hub import _learner_requirements as r; print(r("$(1)"), end="")'
# $(call relock,FILE,COMMAND): COMMAND writes locks/FILE again (preferring its pins); the file is
# replaced only when it changed, since a newer lock rebuilds its venv
relock = cp locks/$(1) locks/.$(1).new && $(2) -o locks/.$(1).new && \
	{ cmp -s locks/.$(1).new locks/$(1) && rm locks/.$(1).new || mv locks/.$(1).new locks/$(1); }
LATEST ?= .venv-latest
# The static browser edition (make lite): its build environment and the site
LITE ?= .venv-lite
LITE_SITE := artifacts/lite
PYTEST_ARGS := --dist loadgroup tests notebooks --ignore=tests/test_hub.py --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: setup dev lock lite lab test test-nofork test-latest test-hub repeat hub lint unit nbval demo notebooks bench sandbox-status clean

setup: $(VENV)/.installed $(VENV)/.kit

dev: $(VENV)/.kit $(VENV)/.dev-installed $(IPK6)/.installed $(COLAB)/.installed

# A new venv for a changed lock: installing over the old one would keep what the lock dropped
$(VENV)/.installed: locks/learner.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_LOCKED) -r locks/learner.txt
	touch $@

# The kit itself, editable (outside the lock: pip cannot hash a folder; its dependencies are in the lock)
$(VENV)/.kit: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

# locks/dev.txt is the learner's lock (the same versions) plus the test tools
$(VENV)/.dev-installed: $(VENV)/.installed locks/dev.txt
	$(PY) $(PIP_LOCKED) -r locks/dev.txt
	touch $@

$(IPK6)/.installed: locks/ipykernel6.txt
	rm -rf $(IPK6)
	$(PYTHON) -m venv $(IPK6)
	$(IPK6)/bin/python $(PIP_LOCKED) -r locks/ipykernel6.txt
	touch $@

$(COLAB)/.installed: locks/colab.txt
	rm -rf $(COLAB)
	$(COLAB_PYTHON) -m venv $(COLAB)
	$(COLAB)/bin/python $(PIP_LOCKED) -r locks/colab.txt
	touch $@

# Write locks/ from the ranges again: each pin kept while its range allows it; UPGRADE=1 takes the newest
# the ranges allow (what make test-latest tests). The dev and hub locks keep the learner's versions.
lock: dev
	$(call relock,learner.txt,$(LOCK) requirements.txt)
	$(call relock,dev.txt,$(LOCK) requirements-dev.txt -c locks/learner.txt)
	$(call relock,hub.txt,$(call hub_ranges,6) | $(LOCK) - -c locks/learner.txt)
	$(call relock,hub5.txt,$(call hub_ranges,5) | $(LOCK) - -c locks/learner.txt)
	$(call relock,ipykernel6.txt,$(LOCK) tests/requirements-ipykernel6.txt)
	$(call relock,colab.txt,$(call lock_for,3.12) tests/requirements-colab.txt)
	$(call relock,lite.txt,$(LOCK) tests/requirements-lite.txt)

$(LITE)/.installed: locks/lite.txt
	rm -rf $(LITE)
	$(PYTHON) -m venv $(LITE)
	$(LITE)/bin/python $(PIP_LOCKED) -r locks/lite.txt
	touch $@

# The static JupyterLite site (tests/support/lite_build.py): Pyodide from npm, pure wheels from PyPI, the kit
# and the notebooks, nothing on a CDN; rebuilt when the kit, a notebook or a lock changes. Serve it with any
# static web server, e.g. python3 -m http.server -d artifacts/lite
lite: $(LITE_SITE)/.built

$(LITE_SITE)/.built: $(LITE)/.installed locks/lite-wheels.txt locks/lite-sdists.txt tests/support/lite_build.py \
		pyproject.toml $(shell find handson_helpers notebooks -name '*.py' -o -name '*.ipynb' 2>/dev/null)
	$(LITE)/bin/python -m tests.support.lite_build --out $(LITE_SITE)
	touch $@

lab: setup
	$(PY) -m handson_helpers.sandbox start
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) $(ROOT_FLAG) \
		--ServerApp.root_dir=notebooks --LabApp.default_url=/lab/tree/00_contents.ipynb

# One session: the tests and nbval over every notebook; --dist loadgroup keeps the notebooks, the browser
# cases and each notebook's restart sweep on one worker each
test: dev lint lite
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The same suite on real processes instead of the tests' fork server (HANDSON_TEST_FORK=0, tests/zygote.py):
# slower, and Linux's fork server out of the picture, so a failure seen only in make test is the harness's.
test-nofork: dev lint
	HANDSON_TEST_FORK=0 $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The suite on the newest versions the ranges allow, in new venvs of their own (not the lock, so
# test_locks.py is left out): green here, then make lock UPGRADE=1 and make test.
test-latest: $(COLAB)/.installed
	rm -rf $(LATEST) $(LATEST)-ipykernel6
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet -r requirements-dev.txt
	$(LATEST)/bin/python -m pip uninstall -qq --yes $(UNUSED)
	$(PYTHON) -m venv $(LATEST)-ipykernel6
	$(LATEST)-ipykernel6/bin/python -m pip install --quiet -r tests/requirements-ipykernel6.txt
	HANDSON_IPYKERNEL6_PYTHON=$(CURDIR)/$(LATEST)-ipykernel6/bin/python $(LATEST)/bin/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS) --ignore=tests/test_locks.py

# A JupyterHub workshop room on this machine (root: it makes the participants' Unix users); see README.
# HANDSON_JUPYTERHUB=5 builds and runs it with JupyterHub 5.x (TLJH 2.x, Zero to JupyterHub 4.4) instead of 6.x
hub: setup
	$(PY) -m handson_helpers.hub setup
	$(PY) -m handson_helpers.hub serve --port $(HUB_PORT)

# The hub proven with HUB_USERS real users through its REST API, on each JupyterHub major of HUB_MAJORS
# (root; CI runs it after make test)
HUB_MAJORS ?= 5 6
test-hub: dev
	HANDSON_HUB_USERS=$(HUB_USERS) HANDSON_HUB_MAJORS="$(HUB_MAJORS)" $(PY) -m pytest -p no:xdist tests/test_hub.py

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
	$(PY) -m tests.support.bench $(BENCH_ARGS)

sandbox-status: setup
	$(PY) -m handson_helpers.sandbox status

clean:
	rm -rf $(VENV) $(IPK6) $(COLAB) $(LATEST) $(LATEST)-ipykernel6 $(LITE) artifacts
