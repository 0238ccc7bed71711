# The two commands of the README, for a fresh Debian 12 machine:
#   make demo   installs what is missing, builds, and shows ravel on an example program
#   make test   installs what is missing, builds, and runs every test
# and `make asan` / `make tsan` for the sanitizer builds. Everything else is plain CMake + Ninja.

BUILD      := build
BUILD_ASAN := build-asan
BUILD_TSAN := build-tsan
OUT        := out
RAVEL      := $(BUILD)/bin/ravel
EXAMPLES   := $(BUILD)/bin/examples

# The demo grows with the product (issue 2: record and inspect; issue 3: catch a deadlock).
# Switching it is this one line: DEMO := deadlock
DEMO := deadlock

.PHONY: demo test asan tsan setup configure build clean demo-record demo-deadlock

setup:
	scripts/setup

# RelWithDebInfo: the speed users get, with the symbols ravel needs to name things.
configure: setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: configure
	cmake --build $(BUILD)

# The demo needs only ravel, its runtime and the examples: no tests, no GUI.
demo: configure
	cmake --build $(BUILD) --target ravel ravel_examples
	@$(MAKE) --no-print-directory demo-$(DEMO)

# Record a correct program (accounts guarded by one std::mutex each) and print what ravel saw.
demo-record:
	@mkdir -p $(OUT)
	$(RAVEL) run -o $(OUT)/bank_std.ravel -- $(EXAMPLES)/bank_std 4 20000
	$(RAVEL) info $(OUT)/bank_std.ravel

# Five dining philosophers deadlock; ravel run reports it live, ends the program and exits 66.
demo-deadlock:
	@mkdir -p $(OUT)
	@status=0; $(RAVEL) run -o $(OUT)/dining.ravel -- $(EXAMPLES)/dining 5 || status=$$?; \
	  if [ $$status -ne 66 ]; then echo "demo: expected exit status 66 (deadlock), got $$status"; exit 1; fi
	$(RAVEL) graph $(OUT)/dining.ravel --kind wait-for --finding 1 -o $(OUT)/dining-wait-for.svg
	@echo "demo: wait-for graph in $(OUT)/dining-wait-for.svg"

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j2

# ASan + UBSan over the analyzer, the CLI and the tests (the preloaded runtime and the example
# programs stay plain): the unit, end-to-end and fuzz tests. Left to the main build, where they
# run: the GUI, the real servers and the benchmark (slow here, and they test no analyzer code the
# others do not); the memory budgets of ReportScale (ASan's shadow and quarantine are the memory
# measured); and ForeignAllocator, whose LD_PRELOADed jemalloc or tcmalloc would replace the
# malloc of the sanitized `ravel` itself, which ASan cannot run with.
ASAN_EXCLUDE := ReportScale\.ATenTimesLonger|ForeignAllocator
asan: setup
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAVEL_SANITIZE=ON -DRAVEL_BUILD_GUI=OFF
	cmake --build $(BUILD_ASAN)
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j2 -LE 'servers|bench' -E '$(ASAN_EXCLUDE)'

# ThreadSanitizer over the analyzer's unit tests: the reader indexes threads in parallel, one
# merge feeds several consumers, and the model's pages are populated on every core. Only the unit
# tests are built here; the end-to-end tests CMake lists are not (their `_NOT_BUILT` placeholders
# are left out of the run).
tsan: setup
	cmake -S . -B $(BUILD_TSAN) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAVEL_TSAN=ON -DRAVEL_BUILD_GUI=OFF
	cmake --build $(BUILD_TSAN) --target ravel_unit_tests
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
	  ctest --test-dir $(BUILD_TSAN) --output-on-failure -j2 -LE 'e2e|fuzz|bench|gui' -E '_NOT_BUILT$$'

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(OUT)
