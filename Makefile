# cove: the commands people type. The build itself is meson + ninja (meson.build).
#
#   make run            install what is missing, build, start coved (all roles, one host)
#   make check          install, build, run unit + end-to-end tests, also under ASan/UBSan
#   make install        install coved, cove, the buildpacks and the systemd unit (PREFIX=/usr/local)

PREFIX ?= /usr/local
DATA_DIR ?= $(CURDIR)/.cove
LISTEN ?= 127.0.0.1:5000
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
MESON_FLAGS ?=

.PHONY: all deps build run check check-fast check-sanitize fuzz install clean format

all: build

deps:
	@./tools/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_FLAGS)

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD)

run: build
	@$(BUILD)/coved --data-dir "$(DATA_DIR)" --listen "$(LISTEN)"

# Runs the whole suite twice: the normal build and the sanitizer build. The closing line
# `N passed, N failed` counts both.
check: build $(SANITIZE_BUILD)/build.ninja
	@ninja -C $(SANITIZE_BUILD)
	@./tests/run.sh $(BUILD) $(SANITIZE_BUILD)

check-fast: build
	@./tests/run.sh $(BUILD)

$(SANITIZE_BUILD)/build.ninja:
	meson setup $(SANITIZE_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug $(MESON_FLAGS)

check-sanitize: deps $(SANITIZE_BUILD)/build.ninja
	@ninja -C $(SANITIZE_BUILD)
	@./tests/run.sh $(SANITIZE_BUILD)

# Runs every fuzzer longer than the suite does (FUZZ_SECONDS each, default 10 minutes), on its
# corpus; what it finds new stays in $(BUILD)/tests/fuzz/<name>.corpus for a look.
FUZZ_SECONDS ?= 600
fuzz: build
	@for f in $(BUILD)/tests/fuzz/fuzz-*; do \
		[ -x "$$f" ] || continue; \
		name=$$(basename "$$f"); mkdir -p "$$f.corpus"; \
		echo "== $$name for $(FUZZ_SECONDS) s"; \
		dict=tests/fuzz/$${name#fuzz-}.dict; \
		"$$f" -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$([ -f "$$dict" ] && echo "-dict=$$dict") \
			-artifact_prefix="$$f." "$$f.corpus" "tests/fuzz/corpus/$${name#fuzz-}" || exit 1; \
	done

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/systemd/system
	install -m 0755 $(BUILD)/coved $(BUILD)/cove $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/cove
	rm -rf $(DESTDIR)$(PREFIX)/share/cove/buildpacks
	cp -R buildpacks $(DESTDIR)$(PREFIX)/share/cove/buildpacks
	sed 's|@BINDIR@|$(PREFIX)/bin|g' dist/coved.service.in > $(DESTDIR)/etc/systemd/system/coved.service
	@echo "installed; start with: systemctl daemon-reload && systemctl enable --now coved"

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)
