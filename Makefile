# Thin wrapper: everything real lives in scripts/setup.sh and CMake.
.PHONY: run test build bench format clean

build:
	bash scripts/setup.sh

run: build
	./build/rlforge train

test: build
	cd build && ctest --output-on-failure -j 2

bench: build
	bash bench/startup.sh
	bash bench/env_throughput.sh
	bash bench/mujoco_throughput.sh
	bash bench/box2d_throughput.sh
	bash bench/buffers.sh
	bash bench/ppo_cartpole.sh
	bash bench/sac_pendulum.sh
	bash bench/dqn_cartpole.sh

format:
	clang-format -i $$(git ls-files '*.cc' '*.h' '*.cpp')

clean:
	rm -rf build
