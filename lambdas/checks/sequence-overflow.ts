import type { HealthCheck } from './health';
import { num, PgRow, Queryable } from './queryable';

export interface SequenceNearOverflow {
  schema: string;
  sequence: string;
  /** The column the sequence feeds (serial / identity), when it has one. */
  ownedBy: string | null;
  lastValue: number;
  /** The lower of the sequence's own maximum and its column type's maximum. */
  maxValue: number;
  percentUsed: number;
}

/**
 * Ascending sequences that have used thresholdPercent of their range. The column's type counts
 * too: a bigint sequence feeding an integer column fails at 2^31 - 1, not at the sequence's max.
 */
export async function sequencesNearOverflow(db: Queryable, thresholdPercent = 75): Promise<SequenceNearOverflow[]> {
  const rows = await db.query<PgRow>(
    `WITH seqs AS (
       SELECT s.schemaname, s.sequencename, s.last_value, s.max_value, owner.column_ref, owner.type_name,
              least(s.max_value, CASE owner.type_name WHEN 'int2' THEN 32767 WHEN 'int4' THEN 2147483647
                                                       ELSE 9223372036854775807 END) AS effective_max
         FROM pg_sequences s
         LEFT JOIN LATERAL (
           SELECT format('%s.%I', d.refobjid::regclass, a.attname) AS column_ref, t.typname::text AS type_name
             FROM pg_depend d
             JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             JOIN pg_type t ON t.oid = a.atttypid
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
              AND d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass
              AND d.deptype IN ('a', 'i')
            LIMIT 1
         ) owner ON true
        WHERE s.last_value IS NOT NULL AND s.increment_by > 0
     )
     SELECT schemaname AS schema, sequencename AS sequence, column_ref, last_value, effective_max,
            100.0 * last_value::numeric / effective_max AS percent_used
       FROM seqs
      WHERE 100.0 * last_value::numeric / effective_max >= $1
      ORDER BY percent_used DESC`,
    [thresholdPercent],
  );
  return rows.map((r) => ({
    schema: r.schema,
    sequence: r.sequence,
    ownedBy: r.column_ref ?? null,
    lastValue: num(r.last_value),
    maxValue: num(r.effective_max),
    percentUsed: num(r.percent_used),
  }));
}

/**
 * The fullest sequence, published every run: when one runs out, every insert into its table fails.
 * Every ascending sequence is read (threshold 0) so the metric is a plain maximum the alarm can watch.
 */
export const sequenceOverflowCheck: HealthCheck<{ sequences: SequenceNearOverflow[]; maxSequenceUsedPercent: number }> = {
  name: 'sequence overflow',
  run: async (db) => {
    const sequences = await sequencesNearOverflow(db, 0);
    return { sequences, maxSequenceUsedPercent: sequences[0]?.percentUsed ?? 0 };
  },
  metrics: (r) => [['maxSequenceUsedPercent', r.maxSequenceUsedPercent]],
  summary: (r) => ({
    maxSequenceUsedPercent: r.maxSequenceUsedPercent,
    fullestSequences: r.sequences.slice(0, 5).map((s) => ({ sequence: `${s.schema}.${s.sequence}`, ownedBy: s.ownedBy, percentUsed: s.percentUsed })),
  }),
  rows: (r) => [
    {
      check: 'fullest sequence',
      value: `${r.maxSequenceUsedPercent.toFixed(2)} %`,
      detail: r.sequences[0] ? `${r.sequences[0].schema}.${r.sequences[0].sequence}${r.sequences[0].ownedBy ? ` (${r.sequences[0].ownedBy})` : ''}` : '-',
    },
  ],
};
