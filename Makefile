# Wanqing: `make up` runs the platform locally, `make test` runs every test. Only python3 is needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install system-packages test up demo lint bench clean

install: system-packages $(STAMP)

# Ceremony PDFs embed a CJK font; their tests read them with poppler (pdftoppm, pdftotext); the console's browser
# tests drive Debian's Chromium (never a downloaded one). Installed with apt only when missing and only as root;
# otherwise say what to install (WANQING_CJK_FONT may name another font).
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
system-packages:
	@if test -f $(CJK_FONT) && test -f /usr/bin/pdftoppm && test -x /usr/bin/chromedriver; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei poppler-utils chromium chromium-driver; \
	else \
		echo "NOTE: ceremony documents need fonts-wqy-microhei and poppler-utils, the console's browser tests" \
		     "chromium and chromium-driver: sudo apt-get install -y fonts-wqy-microhei poppler-utils" \
		     "chromium chromium-driver (or set WANQING_CJK_FONT)"; \
	fi

# Reinstalls only when pyproject.toml changed since the last install (or the venv is new).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

up: install
	$(BIN)/wanqing up

# A generated district lives through a quarter on its own data (.wanqing-demo/, wiped first); prints the report.
demo: install
	$(BIN)/wanqing demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: install
	$(BIN)/wanqing bench store
	$(BIN)/wanqing bench import
	$(BIN)/wanqing bench campaign

clean:
	rm -rf $(STAMP) .pytest_cache .ruff_cache .mypy_cache
