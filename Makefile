# Arca — the two commands of the README: `make demo` (the main job) and `make test`.
# Both install the Debian packages they need first, when they are missing.

APT_PACKAGES := libhwloc-dev libnuma-dev ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libssl-dev libsqlite3-dev sqlite3 \
                hwloc numactl clinfo curl systemd pkg-config python3 python3-venv openssl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift

PEER := .build/python-peer

.PHONY: demo demo-credit test build release deps peers clean lint format

deps:
	@command -v $(SWIFT) >/dev/null || { echo "make: Swift 6 is needed (https://www.swift.org/install/linux/)"; exit 1; }
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make: installing Debian packages:" $$missing; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# python-paillier (phe 1.5.0, with gmpy2) from PyPI: the partner in the Paillier interop tests.
peers: deps
	@[ -x $(PEER)/bin/python3 ] && $(PEER)/bin/python3 -c 'import phe, gmpy2' 2>/dev/null || { \
		python3 -m venv $(PEER) && $(PEER)/bin/pip install -q --disable-pip-version-check phe==1.5.0 gmpy2; }

test: deps peers
	$(SWIFT) build --build-tests
	ARCA_TEST_PYTHON=$(CURDIR)/$(PEER)/bin/python3 $(SWIFT) test --skip-build

# The main job on breast (569 rows); demo-credit runs it on default_credit (30,000 rows).
demo: deps
	$(SWIFT) build
	scripts/demo.sh .build/debug breast

demo-credit: deps
	$(SWIFT) build
	scripts/demo.sh .build/debug default_credit

# swift-format (the toolchain's `swift format`) with the committed .swift-format (line length 120), and no
# source line over 120 characters (a string swift-format cannot break counts too), and every module importing
# only modules of the layers below it (scripts/check-layers.py, the layers README draws).
LINT_PATHS := Package.swift Sources Tests

lint: deps
	$(SWIFT) format lint --strict --recursive --configuration .swift-format $(LINT_PATHS)
	python3 scripts/check-line-length.py $(LINT_PATHS)
	python3 scripts/check-layers.py

format:
	$(SWIFT) format format --in-place --recursive --configuration .swift-format $(LINT_PATHS)

clean:
	rm -rf .build
