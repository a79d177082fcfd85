# MobileNetV1 on CIFAR-10 on CPUs. Every target installs the system packages it needs.
#   make test                 all tests (golden PyTorch values, gradients, loader, trainer) and the layer check
#   make check-layers         the folders of Sources/MobileNet only use folders below them (docs/architecture.md)
#   make train [EPOCHS=60]    train on CIFAR-10 in DATA (downloads it there when not found)
#   make bench                counted and timed cost of standard vs separable convolution; the step against this machine's bound
#   make fuzz [FUZZ_SECONDS=600]  libFuzzer on the CIFAR and safetensors readers and the PNG and JPEG decoders, each for FUZZ_SECONDS
#   make bench-pytorch        training/inference images/s, ours ÷ PyTorch's, measured side by side (needs torch)
#   make test-python          the PyTorch model in python/mobilenet_cpu against the golden fixture (needs torch; part of make test when installed)
#   make test-onnx            exported ONNX models through onnx.checker and onnxruntime against the engine (part of `make test`)
#   make deps-onnx            pip install onnx onnxruntime (CPU wheels) for test-onnx and bench-peers
#   make bench-peers          inference ours vs PyTorch and onnxruntime (our exported ONNX), batch 100 and batch-1 latency
#   make bench-env            the environments of the native and AVX2 stand-in benchmark runs (for scripts)
#   make release-mpi          the trainer with Open MPI (package trait MPI) in .build-mpi/release
#   make test-mpi             the distributed test alone (2 MPI ranks against 1 process); part of `make test` when Open MPI is installed
#   make measure-mpi          1 process × 2 threads against 2 ranks × 1 thread, and allreduce bandwidth (quiet machine)
SHELL := /bin/bash
SWIFT ?= swift
EPOCHS ?= 60
THREADS ?= $(shell nproc)
SHARED_DATA := ../shared/data/cifar-10-batches-bin
DATA ?= $(if $(wildcard $(SHARED_DATA)/data_batch_1.bin),$(SHARED_DATA),data/cifar-10-batches-bin)
# Where `make train` downloads CIFAR-10 when DATA lacks it: download extracts into
# FOLDER/cifar-10-batches-bin, so a DATA named cifar-10-batches-bin is made inside its parent;
# any other DATA gets the folder inside it (train --data takes that parent folder too).
DATA_FOLDER = $(patsubst %/,%,$(DATA))
DOWNLOAD_INTO = $(if $(filter cifar-10-batches-bin,$(notdir $(DATA_FOLDER))),$(patsubst %/,%,$(dir $(DATA_FOLDER))),$(DATA_FOLDER))
TRAIN_FLAGS ?=
APT_PACKAGES := libopenblas-dev liblapacke-dev libpng-dev libturbojpeg0-dev pkg-config
# Release builds are tuned for the building machine's CPU (AVX2/AVX-512 for the depthwise and
# BatchNorm kernels); set NATIVE= to build a portable x86-64 binary instead.
NATIVE ?= -Xswiftc -target-cpu -Xswiftc native -Xcc -march=native
RELEASE_FLAGS := -c release $(NATIVE)
BIN := .build/release

.PHONY: deps deps-mpi build release test test-python check-layers train bench bench-pytorch fuzz clean release-mpi test-mpi measure-mpi deps-onnx test-onnx bench-peers bench-env

# Open MPI builds live in their own scratch folder, so switching the MPI trait on and off
# does not rebuild the other configuration.
MPI_SCRATCH := .build-mpi
MPI_PACKAGES := libopenmpi-dev openmpi-bin iproute2
HAVE_MPI = $(shell command -v mpirun >/dev/null 2>&1 && pkg-config --exists ompi 2>/dev/null && echo yes)

# Installs OpenBLAS, libpng and libjpeg-turbo's TurboJPEG (and pkg-config, which SwiftPM uses
# to find them) when missing.
deps:
	@if ! pkg-config --exists openblas libpng libturbojpeg 2>/dev/null || ! dpkg -s liblapacke-dev >/dev/null 2>&1; then \
	  echo "Installing $(APT_PACKAGES) (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES); \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift not found: install Swift 6.1 or newer from swift.org and put it on PATH"; exit 1; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

# The folders of Sources/MobileNet only use the folders below them (docs/architecture.md):
# scanned, then type-checked layer by layer; the checker's own tests first. Then the
# README's and docs/' relative links and anchors resolve.
check-layers:
	@command -v python3 >/dev/null || { echo "Installing python3 (apt-get)"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3; }
	python3 scripts/test_check_layers.py
	python3 scripts/check_layers.py --typecheck
	python3 scripts/check_doc_links.py README.md docs/*.md

test: deps check-layers
	$(SWIFT) test
	@if [ "$(HAVE_MPI)" = yes ]; then $(MAKE) --no-print-directory test-mpi; \
	else echo "Open MPI not installed: distributed test skipped (apt-get install $(MPI_PACKAGES); .ci/run installs it)"; fi
	@$(MAKE) --no-print-directory test-onnx
	@if python3 -c "import torch, safetensors, numpy" 2>/dev/null; then $(MAKE) --no-print-directory test-python; \
	else echo "PyTorch not installed: python/mobilenet_cpu test skipped (pip install torch safetensors numpy; make test-python)"; fi

# ONNX export checked by onnx.checker and onnxruntime (scripts/onnx_check.py). Without the
# Python packages it says it skipped (and fails under CI=true); `make deps-onnx` installs them.
PYTHON ?= python3
ONNX_PIP := onnx onnxruntime numpy
deps-onnx:
	@if ! $(PYTHON) -c "import onnx, onnxruntime, numpy" 2>/dev/null; then \
	  echo "Installing $(ONNX_PIP) (pip, CPU wheels)"; \
	  $(PYTHON) -m pip --version >/dev/null 2>&1 || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-pip; }; \
	  $(PYTHON) -m pip install -q $(ONNX_PIP) 2>/dev/null || $(PYTHON) -m pip install -q --break-system-packages $(ONNX_PIP); \
	fi

test-onnx: deps
	$(SWIFT) build --product mobilenet-train
	$(PYTHON) scripts/onnx_check.py --trainer .build/debug/mobilenet-train --data $(DATA)

# Installs Open MPI when missing (its pkg-config name is ompi).
deps-mpi: deps
	@if ! command -v mpirun >/dev/null 2>&1 || ! pkg-config --exists ompi 2>/dev/null || ! command -v ip >/dev/null 2>&1; then \
	  echo "Installing $(MPI_PACKAGES) (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(MPI_PACKAGES); \
	fi

# 2 ranks × batch 8 with --sync-bn against 1 process × batch 8, 3 steps (scripts/distributed_check.sh);
# then the fault checks: different flags, SIGTERM, Ctrl-C on mpirun, kill -9 (scripts/mpi_faults_check.sh);
# then the same check across two hosts simulated by network namespaces, over TCP only, and the
# allreduce time over that link (scripts/netns_check.sh; needs root, fails with CI=true without namespaces).
test-mpi: deps-mpi
	$(SWIFT) build --traits MPI --scratch-path $(MPI_SCRATCH) --product mobilenet-train
	scripts/distributed_check.sh $(MPI_SCRATCH)/debug/mobilenet-train
	scripts/mpi_faults_check.sh $(MPI_SCRATCH)/debug/mobilenet-train
	scripts/netns_check.sh $(MPI_SCRATCH)/debug/mobilenet-train

release-mpi: deps-mpi
	$(SWIFT) build $(RELEASE_FLAGS) --traits MPI --scratch-path $(MPI_SCRATCH) --product mobilenet-train

# Not part of CI; run on a quiet machine. Results in bench-results/mpi/.
MEASURE_IMAGES ?= 6400
measure-mpi: release-mpi
	@if [ ! -f "$(DATA)/data_batch_1.bin" ]; then echo "CIFAR-10 not found in $(DATA): run make train once or pass DATA=…"; exit 1; fi
	scripts/measure_mpi.sh $(MPI_SCRATCH)/release/mobilenet-train "$(DATA)" $(MEASURE_IMAGES)

train: release
	@if [ ! -f "$(DATA)/data_batch_1.bin" ] && [ ! -f "$(DATA)/cifar-10-batches-bin/data_batch_1.bin" ]; then \
	  echo "CIFAR-10 not found in $(DATA); downloading the official binary archive into $(DOWNLOAD_INTO)/cifar-10-batches-bin"; \
	  $(BIN)/mobilenet-train download --dataset cifar10 --output "$(DOWNLOAD_INTO)" || exit 1; \
	fi
	$(BIN)/mobilenet-train train --data "$(DATA)" --epochs $(EPOCHS) --threads $(THREADS) $(TRAIN_FLAGS)

BENCH_OUT ?= bench-results
BENCH_FLAGS ?=
PYTORCH_BENCH := scripts/pytorch_bench.py

# Counts and timings (a few minutes on 2 cores): $(BENCH_OUT)/report.md, results.json, *.svg.
bench: release
	$(BIN)/mobilenet-bench run --output $(BENCH_OUT) $(BENCH_FLAGS)

# Our training and inference images/s beside PyTorch's, measured one after the other in one
# shell command (same machine load), then the ratios ours ÷ PyTorch. Not part of CI.
bench-pytorch: deps
	@python3 -c "import torch" 2>/dev/null || { \
	  echo "PyTorch is not installed for $$(command -v python3). Install it with: pip install torch"; \
	  echo "The CPU-only build is enough (a torch wheel tagged +cpu); on Linux the default wheel also pulls GBs of CUDA packages."; \
	  exit 1; }
	$(SWIFT) build $(RELEASE_FLAGS) --product mobilenet-bench
	mkdir -p $(BENCH_OUT)/pytorch && \
	  rm -f $(BENCH_OUT)/pytorch/pytorch.json $(BENCH_OUT)/pytorch/pytorch.json.part $(BENCH_OUT)/pytorch/comparison.json && \
	  $(BIN)/mobilenet-bench machine | tee $(BENCH_OUT)/pytorch/machine.txt && \
	  $(BIN)/mobilenet-bench run --sections network --threads $(THREADS) --network-batch-sizes 128 100 \
	    --warmup 3 --runs 10 --output $(BENCH_OUT)/pytorch && \
	  python3 $(PYTORCH_BENCH) --threads $(THREADS) --batch 128 --infer-batch 100 --steps 10 --warmup 3 \
	    > $(BENCH_OUT)/pytorch/pytorch.json.part && mv $(BENCH_OUT)/pytorch/pytorch.json.part $(BENCH_OUT)/pytorch/pytorch.json && \
	  $(BIN)/mobilenet-bench compare $(BENCH_OUT)/pytorch/results.json $(BENCH_OUT)/pytorch/pytorch.json \
	    --infer-batch 100 --output $(BENCH_OUT)/pytorch/comparison.json

# The project's PyTorch model (python/mobilenet_cpu) against the golden fixture. Needs torch,
# safetensors and numpy (a large download: .ci/run does not install them); part of `make test`
# when they are installed.
test-python:
	@python3 -c "import torch, safetensors, numpy" 2>/dev/null || { echo "needs: pip install torch safetensors numpy"; exit 1; }
	python3 -m unittest discover -s python/tests -v
# Inference beside PyTorch (NCHW and channels_last, if torch is installed) and onnxruntime on
# our exported ONNX: batch 100 images/s and batch-1 latency (median, p99), three interleaved
# rounds, medians of the ratios (scripts/bench_peers.py). Twice: this CPU's build, then the
# AVX2 stand-in (a -target-cpu haswell build in .build-haswell with OpenBLAS's Haswell
# kernels, PyTorch limited to AVX2: ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2, without
# which its oneDNN convolutions still use AVX-512). Results and reports in $(BENCH_OUT)/peers/{native,haswell}/.
# Not part of CI; the machine should be quiet.
PEER_FLAGS ?=
HASWELL_SCRATCH := .build-haswell
# The environment of each kind of benchmark run (also read by docs/bench/vs-pytorch-rounds.sh
# through `make -s bench-env`): this CPU's own kernels everywhere, or the AVX2 stand-in.
NATIVE_ENV := -u OPENBLAS_CORETYPE -u ATEN_CPU_CAPABILITY -u ONEDNN_MAX_CPU_ISA
AVX2_STANDIN_ENV := OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
bench-env:
	@printf "NATIVE_ENV='%s'\nAVX2_STANDIN_ENV='%s'\n" "$(NATIVE_ENV)" "$(AVX2_STANDIN_ENV)"
bench-peers: deps deps-onnx
	$(SWIFT) build $(RELEASE_FLAGS) --product mobilenet-bench
	$(SWIFT) build -c release -Xswiftc -target-cpu -Xswiftc haswell -Xcc -march=haswell --scratch-path $(HASWELL_SCRATCH) --product mobilenet-bench
	env $(NATIVE_ENV) $(PYTHON) scripts/bench_peers.py --bench $(BIN)/mobilenet-bench --label native --output $(BENCH_OUT)/peers --threads $(THREADS) $(PEER_FLAGS)
	env $(AVX2_STANDIN_ENV) $(PYTHON) scripts/bench_peers.py --bench $(HASWELL_SCRATCH)/release/mobilenet-bench \
	  --label haswell --output $(BENCH_OUT)/peers --threads $(THREADS) $(PEER_FLAGS)

# libFuzzer with AddressSanitizer on each target for FUZZ_SECONDS (no crash, no hang over
# FUZZ_TIMEOUT s, no allocation over FUZZ_MALLOC_MB). The corpus grows in fuzz/<target>/corpus
# (git-ignored); a crash leaves fuzz/<target>/crash-* and fails the target. Inputs may grow to
# 32 KiB (CIFAR: a few records), 64 KiB (PNG, JPEG: the fixture images are the seeds) or 2 MiB
# (safetensors: the 1.8 MB golden model is a seed). Coverage comes from
# -sanitize-coverage (what -sanitize=fuzzer adds) and libFuzzer's no-main runtime, entered
# through LLVMFuzzerRunDriver: SwiftPM defines the executable's main, which clashes with
# the main that -sanitize=fuzzer links in.
FUZZ_SECONDS ?= 600
FUZZ_TIMEOUT ?= 10
FUZZ_MALLOC_MB ?= 1024
FUZZ_TARGETS ?= cifar safetensors png jpeg
FUZZ_IMAGES := Tests/MobileNetTests/Fixtures/images
FUZZ_DIR ?= fuzz
FUZZ_SCRATCH := .build-fuzz
LIBFUZZER = $(firstword $(wildcard $(dir $(realpath $(shell command -v $(SWIFT))))../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-$(shell uname -m).a))
FUZZ_BUILD_FLAGS = -c release --scratch-path $(FUZZ_SCRATCH) --product mobilenet-fuzz \
	-Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
	-Xswiftc -DFUZZING -Xlinker $(LIBFUZZER) -Xlinker -lstdc++

fuzz: deps
	@test -n "$(LIBFUZZER)" || { echo "libclang_rt.fuzzer_no_main not found beside $$(command -v $(SWIFT)): install a swift.org Linux toolchain"; exit 1; }
	$(SWIFT) build $(FUZZ_BUILD_FLAGS) 2>&1 | grep -v "Cannot export local symbol"; test $${PIPESTATUS[0]} = 0
	@set -e; bin=$(FUZZ_SCRATCH)/release/mobilenet-fuzz; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/$$t/corpus; \
	  $$bin $$t --write-seeds $(FUZZ_DIR)/$$t/seeds; \
	  if [ $$t = safetensors ]; then cp Tests/MobileNetTests/Fixtures/mobilenet_v1_w025.safetensors $(FUZZ_DIR)/$$t/seeds/golden-w025; fi; \
	  if [ $$t = png ]; then cp $(FUZZ_IMAGES)/decode/*.png $(FUZZ_IMAGES)/bad/*.png $(FUZZ_DIR)/$$t/seeds/; fi; \
	  if [ $$t = jpeg ]; then cp $(FUZZ_IMAGES)/decode/*.jpg $(FUZZ_IMAGES)/bad/*.jpg $(FUZZ_DIR)/$$t/seeds/; fi; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/$$t/fuzz.log)"; \
	  case $$t in safetensors) maxlen=2097152;; png|jpeg) maxlen=65536;; *) maxlen=32768;; esac; \
	  if $$bin $$t $(FUZZ_DIR)/$$t/corpus $(FUZZ_DIR)/$$t/seeds -max_total_time=$(FUZZ_SECONDS) -max_len=$$maxlen \
	      -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=2048 -malloc_limit_mb=$(FUZZ_MALLOC_MB) \
	      -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/$$t/ > $(FUZZ_DIR)/$$t/fuzz.log 2>&1; then \
	    echo "$$t: $$(grep -E '^#[0-9]+[[:space:]]+DONE' $(FUZZ_DIR)/$$t/fuzz.log | tail -1)"; \
	    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' $(FUZZ_DIR)/$$t/fuzz.log; \
	  else \
	    tail -40 $(FUZZ_DIR)/$$t/fuzz.log; echo "$$t: FAILED, input kept as $(FUZZ_DIR)/$$t/crash-* (or leak-*, oom-*, timeout-*)"; exit 1; \
	  fi; \
	done

clean:
	rm -rf .build $(MPI_SCRATCH) $(HASWELL_SCRATCH)
