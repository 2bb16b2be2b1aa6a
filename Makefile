# Thin wrapper over meson/ninja and the scripts in scripts/.
#   make demo    install deps, build, start berthd, show the busybox image
#   make check   install deps, ASan/UBSan build, unit + e2e tests, one summary line
#   make bench   benchmarks vs dockerd, podman, runc: make bench [AREAS="core run"]
BUILD ?= build
ASAN_BUILD ?= build-asan
FORMAT_FILES = $(shell find src tests -name '*.[ch]' -type f 2>/dev/null | sort)

.PHONY: all deps build demo stop check e2e format format-check bench fuzz clean

all: build

deps:
	scripts/install-deps.sh

build:
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	ninja -C $(BUILD)

demo: deps build
	BUILD=$(BUILD) scripts/demo.sh

stop:
	scripts/demo.sh stop

check: deps
	ASAN_BUILD=$(ASAN_BUILD) scripts/check.sh

# Iterate on the e2e suites against the plain build: make e2e [SUITE=images]
e2e: build
	BERTHD=$(CURDIR)/$(BUILD)/src/berthd/berthd BERTH_CLI=$${BERTH_CLI:-$(CURDIR)/$(BUILD)/src/berth/berth} \
		bats $(if $(SUITE),tests/e2e/$(SUITE).bats,tests/e2e)

format:
	clang-format -i --style=file $(FORMAT_FILES)

format-check:
	@bad=0; for f in $(FORMAT_FILES); do \
		clang-format --style=file "$$f" | cmp -s "$$f" - || { echo "needs clang-format: $$f"; bad=1; }; \
	done; exit $$bad

bench: build
	BERTHD=$(CURDIR)/$(BUILD)/src/berthd/berthd BERTH_CLI=$(CURDIR)/$(BUILD)/src/berth/berth bench/run.sh $(AREAS)

# libFuzzer targets (tests/fuzz), each run FUZZ_SECONDS: make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="http tar_apply"]
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh run $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
