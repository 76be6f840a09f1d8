# The two commands of README.md, and a few conveniences. Each target does its
# own set-up (scripts/bootstrap) so it works on a fresh Debian 12 machine.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: run test build bootstrap sanitize clean format

run:
	bash scripts/run

test:
	bash scripts/test

bootstrap:
	bash scripts/bootstrap

build: bootstrap
	cmake -S . -B $(BUILD) -G Ninja -DVIGIL_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

sanitize: bootstrap
	cmake -S . -B build-asan -G Ninja -DVIGIL_WERROR=ON -DVIGIL_SANITIZE=address,undefined -DVIGIL_BUILD_BENCH=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

format:
	find src tests bench fuzz -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-asan
