# The two commands of README.md, and a few conveniences. Each target does its
# own set-up (scripts/bootstrap) so it works on a fresh Debian 12 machine.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: run test build bootstrap sanitize tsan clean format

run:
	bash scripts/run

test:
	bash scripts/test

bootstrap:
	bash scripts/bootstrap

build: bootstrap
	cmake -S . -B $(BUILD) -G Ninja -DVIGIL_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Every test under ASan+UBSan in build-asan; the worker, api and integration
# tests under TSan in build-tsan (scripts/sanitize, docs/testing.md).
sanitize: bootstrap
	JOBS=$(JOBS) bash scripts/sanitize asan-full

tsan: bootstrap
	JOBS=$(JOBS) bash scripts/sanitize tsan

format:
	find src tests bench fuzz -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-asan build-tsan
