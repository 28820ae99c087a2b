// Host-side float64 arithmetic for the examples' residual checks.

/** y = A v (as re, im pairs) for a row-major rows x cols matrix `a` (complex interleaved when
 * c = 2), where v(j) gives element j of the vector as [re, im]. */
export function matvec(a: ArrayLike<number>, rows: number, cols: number, c: 1 | 2, v: (j: number) => [number, number]): Float64Array {
  const y = new Float64Array(2 * rows);
  for (let i = 0; i < rows; i++) {
    let re = 0, im = 0;
    for (let j = 0; j < cols; j++) {
      const [vr, vi] = v(j);
      const ar = a[c * (i * cols + j)], ai = c === 2 ? a[c * (i * cols + j) + 1] : 0;
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

/** ||A X - B|| / (||A|| ||X||) in float64 for a row-major n x n `a` and row-major n x nrhs `x`
 * and `b` (complex interleaved when a holds twice n * n numbers). */
export function solveResidual(a: ArrayLike<number>, n: number, x: ArrayLike<number>, b: ArrayLike<number>, nrhs: number): number {
  const c = a.length === 2 * n * n ? 2 : 1;
  let r2 = 0;
  for (let k = 0; k < nrhs; k++) {
    const y = matvec(a, n, n, c, (j) => element(x, j * nrhs + k, c));
    for (let i = 0; i < n; i++) {
      const [br, bi] = element(b, i * nrhs + k, c);
      r2 += (y[2 * i] - br) ** 2 + (y[2 * i + 1] - bi) ** 2;
    }
  }
  return Math.sqrt(r2 / (squaredNorm(a) * squaredNorm(x)));
}

/** ||A_r x - b_r|| / (||A_r|| ||x||) for a rank's rows A_r (row-major, real) of an n-column
 * matrix, whose first row is global row `first`; 0 for a rank without rows. */
export function rowsResidual(rows: Float64Array, n: number, first: number, x: Float64Array, b: Float64Array): number {
  const count = rows.length / n;
  if (count === 0) return 0;
  const y = matvec(rows, count, n, 1, (j) => [x[j], 0]);
  let r2 = 0;
  for (let i = 0; i < count; i++) r2 += (y[2 * i] - b[first + i]) ** 2;
  return Math.sqrt(r2 / (squaredNorm(rows) * squaredNorm(x)));
}
