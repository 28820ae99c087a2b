// Host-side float64 arithmetic for the examples' residual checks.

/** y = A v for a row-major n x n matrix `a` (complex interleaved when c = 2), where v(j) gives
 * element j of the vector as [re, im]. */
export function matvec(a: ArrayLike<number>, n: number, c: 1 | 2, v: (j: number) => [number, number]): Float64Array {
  const y = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    let re = 0, im = 0;
    for (let j = 0; j < n; j++) {
      const [vr, vi] = v(j);
      const ar = a[c * (i * n + j)], ai = c === 2 ? a[c * (i * n + j) + 1] : 0;
      re += ar * vr - ai * vi;
      im += ar * vi + ai * vr;
    }
    y[2 * i] = re;
    y[2 * i + 1] = im;
  }
  return y;
}

/** Element k of a host array as [re, im]. */
export function element(x: ArrayLike<number>, k: number, c: 1 | 2): [number, number] {
  return [x[c * k], c === 2 ? x[c * k + 1] : 0];
}

/** sum |x|^2 over an array's components */
export function squaredNorm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}
