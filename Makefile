# MobileNetV1 on CIFAR-10 on CPUs. Every target installs the system packages it needs.
#   make test                 all tests (golden PyTorch values, gradients, loader, trainer)
#   make train [EPOCHS=60]    train on CIFAR-10 (downloads it into data/ when not found)
#   make bench                counted and timed cost of standard vs separable convolution
SHELL := /bin/bash
SWIFT ?= swift
EPOCHS ?= 60
THREADS ?= $(shell nproc)
SHARED_DATA := ../shared/data/cifar-10-batches-bin
DATA ?= $(if $(wildcard $(SHARED_DATA)/data_batch_1.bin),$(SHARED_DATA),data/cifar-10-batches-bin)
TRAIN_FLAGS ?=
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config
# Release builds are tuned for this machine's CPU (AVX2/AVX-512 for the depthwise and
# BatchNorm kernels); set NATIVE= to build a portable x86-64 binary instead.
NATIVE ?= -Xswiftc -target-cpu -Xswiftc native -Xcc -march=native
RELEASE_FLAGS := -c release $(NATIVE)
BIN := .build/release

.PHONY: deps build release test train bench bench-pytorch clean

# Installs OpenBLAS (and pkg-config, which SwiftPM uses to find it) when missing.
deps:
	@if ! pkg-config --exists openblas 2>/dev/null || ! dpkg -s liblapacke-dev >/dev/null 2>&1; then \
	  echo "Installing $(APT_PACKAGES) (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES); \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift not found: install Swift 6.1 or newer from swift.org and put it on PATH"; exit 1; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

test: deps
	$(SWIFT) test

train: release
	@if [ ! -f "$(DATA)/data_batch_1.bin" ]; then \
	  echo "CIFAR-10 not found in $(DATA); downloading the official binary archive"; \
	  $(BIN)/mobilenet-train download --dataset cifar10 --output data || exit 1; \
	fi
	$(BIN)/mobilenet-train train --data "$(DATA)" --epochs $(EPOCHS) --threads $(THREADS) $(TRAIN_FLAGS)

bench: release
	$(BIN)/mobilenet-bench

clean:
	rm -rf .build
