# Thin wrapper: everything real lives in scripts/setup.sh and CMake.
# ccache reuses objects built in another checkout (CI clones to a fresh folder): paths under the
# checkout are hashed relative to it, and -g's compile directory is not hashed
export CCACHE_NOHASHDIR := true
export CCACHE_BASEDIR := $(CURDIR)
.PHONY: run test build bench format clean fuzz-build fuzz fuzz-smoke test-asan test-tsan test-minimal

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
	bash bench/mpi_scaling.sh

# the minimal configuration (every optional component off) builds and runs one DreamerV3 update
test-minimal:
	bash scripts/setup.sh --deps-only
	bash scripts/minimal_build.sh build-minimal

# the learning tests (an algorithm reaching a return: minutes of arithmetic under ASan) run in the
# plain build only; their resume tests beside them take the same code paths under ASan
ASAN_SKIP := ^(Train\.PpoLearnsCartPoleWithin30kSteps|Train\.DqnLearnsCartPole|Train\.SacLearnsPendulum|Mappo\.IppoAndMappoBeatARandomPolicyClearly|Qmix\.VdnBeatsARandomPolicyClearly|DreamerSmoke\.RewardAndContinueLossesHalveWithin300Updates)$$

# the whole suite but ASAN_SKIP with ASan + UBSan (build-asan/); the threaded tests with TSan
test-asan:
	bash scripts/setup.sh --deps-only
	[ -f build-asan/build.ninja ] || cmake -S . -B build-asan -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRLFORGE_SANITIZE=address -DRLFORGE_BUILD_BENCH=OFF
	cmake --build build-asan -j $${RLFORGE_JOBS:-2}
	cd build-asan && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j 2 -E '$(ASAN_SKIP)'

test-tsan:
	bash scripts/setup.sh --deps-only
	[ -f build-tsan/build.ninja ] || cmake -S . -B build-tsan -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRLFORGE_SANITIZE=thread -DRLFORGE_TORCH=OFF
	cmake --build build-tsan -j $${RLFORGE_JOBS:-2} --target rlforge rlforge_tests \
	  rlforge_feedback_tests rlforge_human_teacher_tests rlforge_fault_tests rlforge_cloud_tests
	cd build-tsan && TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --output-on-failure -j 2 -R 'Vector|HumanTeacher|Feedback|LabelingLoad|Sftp|cli.cloud'

# libFuzzer targets with ASan + UBSan (clang), in build-fuzz/; FUZZ_SECONDS per target
fuzz-build:
	bash scripts/setup.sh --deps-only
	[ -f build-fuzz/build.ninja ] || cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRLFORGE_FUZZ=ON
	cmake --build build-fuzz -j $${RLFORGE_JOBS:-2}

fuzz: fuzz-build
	bash scripts/fuzz.sh $${FUZZ_SECONDS:-600}

fuzz-smoke: fuzz-build
	bash scripts/fuzz.sh 20

format:
	clang-format -i $$(git ls-files '*.cc' '*.h' '*.cpp')

clean:
	rm -rf build
