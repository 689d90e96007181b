/**
 * Deterministic pseudo-randomness inside set-based SQL: every "random" value is a hash of the
 * row's id, the run's seed and a per-column salt, so the same seed gives the same data on any
 * server, in any chunking, in parallel, with no per-row round trips. Generator queries compute
 * the draws they need once per row in a subquery (r1, r2, ...) and shape them with the helpers.
 */
export class SqlRandom {
  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 1e9) throw new Error(`seed must be an integer between 0 and 1e9, got ${seed}`);
  }

  /** Uniform in [0, 1), from the id expression and a salt unique to the column. */
  u(idExpr: string, salt: number): string {
    return `((hashint8extended((${idExpr})::bigint, ${this.seed * 1000 + salt}::bigint) & 2147483647)::float8 / 2147483648.0)`;
  }

  /** `count` draws for one row as subquery columns r1..rN. */
  draws(idExpr: string, count: number, saltBase = 0): string {
    return Array.from({ length: count }, (_, i) => `${this.u(idExpr, saltBase + i + 1)} AS r${i + 1}`).join(', ');
  }
}

/** Integer in [0, n) from a uniform draw. */
export function intOf(draw: string, n: number): string {
  return `floor((${draw}) * ${n})::int`;
}

/**
 * Integer in [1, n] with P(k) roughly proportional to 1/k (log-uniform inverse CDF): a few
 * values get most rows, as workspace sizes, tags and authors do in real tenants.
 */
export function zipfOf(draw: string, n: number): string {
  return `least(${n}, floor(exp((${draw}) * ln(${n + 1})))::int)`;
}

/** A SQL value picked by relative weights from one uniform draw. */
export function weightedOf(draw: string, choices: readonly (readonly [string, number])[]): string {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let cumulative = 0;
  const branches = choices.slice(0, -1).map(([sqlValue, weight]) => {
    cumulative += weight / total;
    return `WHEN (${draw}) < ${cumulative.toFixed(6)} THEN ${sqlValue}`;
  });
  return `(CASE ${branches.join(' ')} ELSE ${choices[choices.length - 1][0]} END)`;
}

/** A text[] literal for SQL text; the values are our own constants, quoted anyway. */
export function textArray(values: readonly string[]): string {
  return `ARRAY[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]::text[]`;
}

/** One element of a SQL array, Zipf-weighted toward the front. */
export function pickZipf(draw: string, values: readonly string[]): string {
  return `(${textArray(values)})[${zipfOf(draw, values.length)}]`;
}

/** One element of a SQL array, uniformly. */
export function pickUniform(draw: string, values: readonly string[]): string {
  return `(${textArray(values)})[1 + ${intOf(draw, values.length)}]`;
}
