"""PyTorch's equivalents of bunmg's routines, timed on one GPU: the peers of `bun bench
--scenario peers`. Reads a JSON list of cases on stdin ({"routine", "dtype", "n", "repeats",
"warmup"}) and prints one JSON line per case: {"case": i, "seconds": [...]} or {"case": i,
"note": "..."}. The call alone is timed, A already on the GPU: potrs = cholesky + cholesky_solve
(B on the GPU, n x 1), potri = cholesky + cholesky_inverse, syevd = eigh (values and vectors),
each synchronized; the inputs are regenerated outside the timed region.
"""
import json
import sys
import time

import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64, "complex64": torch.complex64, "complex128": torch.complex128}


def hpd(n, dtype, device):
    # Off-diagonals in the unit square and 2n on the diagonal (as bunmg's fill): well conditioned.
    m = torch.rand((n, n), dtype=dtype, device=device) * 2 - 1
    a = (m + m.mH) / 2
    a.diagonal().copy_(torch.full((n,), 2.0 * n, device=device))
    return a


def run(case, device):
    dtype = DTYPES[case["dtype"]]
    n = case["n"]
    routine = case["routine"]
    a = hpd(n, dtype, device)
    b = torch.ones((n, 1), dtype=dtype, device=device)
    if routine == "potrs":
        call = lambda: torch.cholesky_solve(b, torch.linalg.cholesky(a))
    elif routine == "potri":
        call = lambda: torch.cholesky_inverse(torch.linalg.cholesky(a))
    else:
        call = lambda: torch.linalg.eigh(a)
    seconds = []
    for r in range(-case["warmup"], case["repeats"]):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = call()
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        del out
        if r >= 0:
            seconds.append(dt)
    del a, b
    torch.cuda.empty_cache()
    return seconds


def main():
    cases = json.load(sys.stdin)
    if not torch.cuda.is_available():
        for i, _ in enumerate(cases):
            print(json.dumps({"case": i, "note": "torch sees no CUDA device"}), flush=True)
        return
    device = torch.device("cuda", 0)
    print(json.dumps({"torch": torch.__version__, "gpu": torch.cuda.get_device_name(device)}), flush=True)
    for i, case in enumerate(cases):
        try:
            print(json.dumps({"case": i, "seconds": run(case, device)}), flush=True)
        except Exception as e:  # out of memory, or a size torch refuses: a note, not a failure
            torch.cuda.empty_cache()
            print(json.dumps({"case": i, "note": f"{type(e).__name__}: {str(e).splitlines()[0]}"}), flush=True)


if __name__ == "__main__":
    main()
