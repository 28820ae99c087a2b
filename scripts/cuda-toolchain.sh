#!/usr/bin/env bash
# Installs NVIDIA's CUDA 13.0 toolchain from its PyPI wheels into a folder (no root, no system
# CUDA): nvcc, the headers, cudart, cuBLAS, cuSOLVER (cusolverMg.h), cuSPARSE, nvJitLink, NCCL,
# and the cusolverMp and cublasmp headers (the mp GPU engine). Prints the toolkit root last, for CUDA_HOME (`bunmg build` looks
# there). Used by .ci/run and scripts/platform-package.ts; by hand:
#
#   CUDA_HOME=$(scripts/cuda-toolchain.sh ~/.cache/bunmg-cuda | tail -1) bunx bunmg build --cuda
#
# The versions are pinned together: without the nvvm, nvjitlink and cusparse extras pip picks
# a newer nvvm whose PTX the 13.0 ptxas rejects. A folder that already holds this exact set is
# reused. Downloads about 1.5 GB; pip keeps its download cache only when PIP_CACHE_DIR is set.
set -euo pipefail

prefix=${1:?usage: scripts/cuda-toolchain.sh PREFIX}
toolkit='cuda-toolkit[nvcc,nvvm,cudart,cublas,cusolver,cusparse,nvjitlink,crt,cccl]==13.0.2'
nccl='nvidia-nccl-cu13==2.32.3'
cusolvermp='nvidia-cusolvermp-cu13==0.9.1.9318.post1'
cublasmp='nvidia-cublasmp-cu13==0.10.0.3695'
stamp="$prefix/.bunmg-toolchain"
root="$prefix/nvidia/cu13"

# --target writes only into PREFIX, so a distribution's "externally managed" Python may be used.
export PIP_BREAK_SYSTEM_PACKAGES=1
if [ "$(cat "$stamp" 2>/dev/null)" != "$toolkit $nccl $cusolvermp $cublasmp" ] || [ ! -x "$root/bin/nvcc" ]; then
  cache=(--no-cache-dir)
  [ -n "${PIP_CACHE_DIR:-}" ] && cache=()
  rm -rf "$prefix"
  mkdir -p "$prefix"
  python3 -m pip install -q "${cache[@]}" --disable-pip-version-check --target "$prefix" "$toolkit" "$nccl" >&2
  # cusolverMp.h and cublasmp.h only (their dependencies would pull other CUDA versions): a
  # folder of its own each, where CMake looks beside the toolkit.
  python3 -m pip install -q "${cache[@]}" --disable-pip-version-check --no-deps --target "$prefix/mp" "$cusolvermp" >&2
  python3 -m pip install -q "${cache[@]}" --disable-pip-version-check --no-deps --target "$prefix/cublasmp" "$cublasmp" >&2
  echo "$toolkit $nccl $cusolvermp $cublasmp" >"$stamp"
fi

# The wheel layout, as nvcc and CMake's FindCUDAToolkit expect a toolkit: lib64 beside lib, and
# an unversioned name for every shared library (libcudart.so -> libcudart.so.13, ...).
[ -e "$root/lib64" ] || ln -s lib "$root/lib64"
for dir in "$root/lib" "$prefix/nvidia/nccl/lib" "$prefix/mp/nvidia/cu13/lib"; do
  for lib in "$dir"/lib*.so.*; do
    [ -e "$lib" ] || continue
    plain="${lib%%.so.*}.so"
    [ -e "$plain" ] || ln -s "$(basename "$lib")" "$plain"
  done
done

"$root/bin/nvcc" --version | tail -2 >&2
echo "$root"
