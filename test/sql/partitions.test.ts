import { createTestDatabase, TestDatabase } from '../support/database';
import { createTenant, insertId, pgError } from './platform-fixtures';

interface PartitionRow {
  parent: string;
  name: string;
  bound: string;
}

/** Every partition and its bound as Postgres prints it: the ground truth, read without dbops' own helpers. */
async function partitionsOf(db: TestDatabase): Promise<PartitionRow[]> {
  return db.query<PartitionRow & Record<string, unknown>>(
    `SELECT i.inhparent::regclass::text AS parent, c.relname::text AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent IN ('public.listening_mentions'::regclass, 'public.security_audit_logs'::regclass)
      ORDER BY 1, 2`,
  );
}

/** Row count and a checksum over every column of every mention, in id order. */
async function mentionFingerprint(db: TestDatabase): Promise<{ rows: number; checksum: string }> {
  const [row] = await db.query<{ rows: number; checksum: string }>(
    `SELECT count(*)::int AS rows, md5(coalesce(string_agg(m::text, '|' ORDER BY m.id), '')) AS checksum FROM listening_mentions m`,
  );
  return row;
}

async function mentionsWhere(db: TestDatabase): Promise<Record<string, number>> {
  const rows = await db.query<{ part: string; n: number }>(
    `SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM listening_mentions GROUP BY 1 ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.part, r.n]));
}

describe('partition management (020)', () => {
  let db: TestDatabase;
  let workspaceId: number;
  let queryId: number;

  /** Mentions published at the given instants (ISO strings), with varied content so the checksum means something. */
  async function addMentions(instants: string[]): Promise<void> {
    await db.query(
      `INSERT INTO listening_mentions (workspace_id, listening_query_id, platform, external_id, author_handle, author_reach,
                                       content, sentiment, sentiment_score, engagement, keywords, published_at)
       SELECT $1, $2, 'twitter', 'ext-' || md5(t || random()::text), '@user' || n, n * 10,
              'mention number ' || n, 'positive', 0.5, n, ARRAY['k' || n], t::timestamptz
         FROM unnest($3::text[]) WITH ORDINALITY AS u(t, n)`,
      [workspaceId, queryId, instants],
    );
  }

  beforeEach(async () => {
    db = await createTestDatabase();
    ({ workspaceId } = await createTenant(db, 'p'));
    queryId = await insertId(db, `INSERT INTO listening_queries (workspace_id, name, keywords) VALUES ($1, 'q', '{aurora}') RETURNING id`, [workspaceId]);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('does UTC month math across a year end, whatever the session time zone', async () => {
    const client = await db.pool().connect();
    try {
      await client.query(`SET TimeZone = 'America/New_York'`);
      const { rows } = await client.query(
        `SELECT dbops.utc_month_start('2026-12-31 22:30:00-05') = '2027-01-01 00:00:00+00' AS start_crosses_year,
                dbops.utc_month_start('2026-12-31 18:30:00-05') = '2026-12-01 00:00:00+00' AS start_stays,
                dbops.utc_month_add('2026-12-01 00:00:00+00', 1) = '2027-01-01 00:00:00+00' AS add_crosses_year,
                dbops.utc_month_add('2026-10-01 00:00:00+00', 1) = '2026-11-01 00:00:00+00' AS add_over_dst_change,
                dbops.utc_month_add('2027-01-01 00:00:00+00', -2) = '2026-11-01 00:00:00+00' AS subtract,
                dbops.monthly_partition_name('listening_mentions', '2026-12-31 22:30:00-05') AS name`,
      );
      expect(rows[0]).toEqual({
        start_crosses_year: true,
        start_stays: true,
        add_crosses_year: true,
        add_over_dst_change: true,
        subtract: true,
        name: 'listening_mentions_p202701',
      });
    } finally {
      client.release();
    }
  });

  it('creates the current month and the months ahead with exact UTC bounds across a year end', async () => {
    const result = await db.query(
      `SELECT table_name, partition_name, range_start = dbops.utc_month_start(range_start) AND range_end = dbops.utc_month_add(range_start, 1) AS month_bounds,
              created, rows_moved::int
         FROM dbops.create_monthly_partitions(p_months_ahead => 2, p_now => '2031-12-15 12:00:00+00')`,
    );
    expect(result).toEqual([
      { table_name: 'public.listening_mentions', partition_name: 'listening_mentions_p203112', month_bounds: true, created: true, rows_moved: 0 },
      { table_name: 'public.listening_mentions', partition_name: 'listening_mentions_p203201', month_bounds: true, created: true, rows_moved: 0 },
      { table_name: 'public.listening_mentions', partition_name: 'listening_mentions_p203202', month_bounds: true, created: true, rows_moved: 0 },
      { table_name: 'public.security_audit_logs', partition_name: 'security_audit_logs_p203112', month_bounds: true, created: true, rows_moved: 0 },
      { table_name: 'public.security_audit_logs', partition_name: 'security_audit_logs_p203201', month_bounds: true, created: true, rows_moved: 0 },
      { table_name: 'public.security_audit_logs', partition_name: 'security_audit_logs_p203202', month_bounds: true, created: true, rows_moved: 0 },
    ]);

    const bounds = (await partitionsOf(db)).filter((p) => /_p2031|_p2032/.test(p.name));
    expect(bounds.map((p) => `${p.name} ${p.bound}`)).toEqual([
      "listening_mentions_p203112 FOR VALUES FROM ('2031-12-01 00:00:00+00') TO ('2032-01-01 00:00:00+00')",
      "listening_mentions_p203201 FOR VALUES FROM ('2032-01-01 00:00:00+00') TO ('2032-02-01 00:00:00+00')",
      "listening_mentions_p203202 FOR VALUES FROM ('2032-02-01 00:00:00+00') TO ('2032-03-01 00:00:00+00')",
      "security_audit_logs_p203112 FOR VALUES FROM ('2031-12-01 00:00:00+00') TO ('2032-01-01 00:00:00+00')",
      "security_audit_logs_p203201 FOR VALUES FROM ('2032-01-01 00:00:00+00') TO ('2032-02-01 00:00:00+00')",
      "security_audit_logs_p203202 FOR VALUES FROM ('2032-02-01 00:00:00+00') TO ('2032-03-01 00:00:00+00')",
    ]);

    // The last instant of the year and the first of the next land on either side of the boundary.
    await addMentions(['2031-12-31 23:59:59.999999+00', '2032-01-01 00:00:00+00', '2031-12-31 20:30:00-05']);
    expect(await mentionsWhere(db)).toEqual({ listening_mentions_p203112: 1, listening_mentions_p203201: 2 });
  });

  it('is idempotent: a second run creates nothing and changes no catalog row', async () => {
    await db.query(`SELECT * FROM dbops.create_monthly_partitions(p_months_ahead => 5)`);
    const before = await partitionsOf(db);
    const [{ n: relations }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_class`);
    const again = await db.query<{ created: boolean }>(`SELECT created FROM dbops.create_monthly_partitions(p_months_ahead => 5)`);
    expect(again).toHaveLength(12);
    expect(again.every((r) => r.created === false)).toBe(true);
    expect(await partitionsOf(db)).toEqual(before);
    expect(await db.query(`SELECT count(*)::int AS n FROM pg_class`)).toEqual([{ n: relations }]);
  });

  it('public.create_monthly_partitions() (the spec entry point) fills a gap in the next months for both tables', async () => {
    const [{ name }] = await db.query<{ name: string }>(
      `SELECT dbops.monthly_partition_name('listening_mentions', dbops.utc_month_add(dbops.utc_month_start(now()), 2)) AS name`,
    );
    await db.query(`DROP TABLE ${name}`);
    const rows = await db.query<{ partition_name: string; created: boolean }>(`SELECT partition_name, created FROM public.create_monthly_partitions()`);
    expect(rows).toHaveLength(8); // current month + premake_months (3), two tables
    expect(rows.filter((r) => r.created).map((r) => r.partition_name)).toEqual([name]);
  });

  it('moves rows of a new month out of the default partition: none lost, none changed', async () => {
    // No partitions exist for 2031/2032 yet, so all of these sit in the default partition.
    const instants = [
      '2031-12-01 00:00:00+00', '2031-12-15 08:00:00+00', '2031-12-31 23:59:59+00',
      '2032-01-01 00:00:00+00', '2032-01-20 10:00:00+00',
      '2032-05-05 05:05:00+00', // outside the months created: must stay in the default partition
    ];
    await addMentions(instants);
    const before = await mentionFingerprint(db);
    expect(await mentionsWhere(db)).toEqual({ listening_mentions_default: 6 });

    const result = await db.query<{ partition_name: string; created: boolean; rows_moved: number }>(
      `SELECT partition_name, created, rows_moved::int FROM dbops.create_monthly_partitions('public.listening_mentions', 2, p_now => '2031-12-10')`,
    );
    expect(result).toEqual([
      { partition_name: 'listening_mentions_p203112', created: true, rows_moved: 3 },
      { partition_name: 'listening_mentions_p203201', created: true, rows_moved: 2 },
      { partition_name: 'listening_mentions_p203202', created: true, rows_moved: 0 },
    ]);
    expect(await mentionsWhere(db)).toEqual({ listening_mentions_default: 1, listening_mentions_p203112: 3, listening_mentions_p203201: 2 });
    expect(await mentionFingerprint(db)).toEqual(before);

    // p_include_default_months also gives the stray May row a home.
    const more = await db.query<{ partition_name: string; rows_moved: number }>(
      `SELECT partition_name, rows_moved::int FROM dbops.create_monthly_partitions('listening_mentions', 1, p_include_default_months => true, p_now => '2031-12-10') WHERE created`,
    );
    expect(more).toEqual([{ partition_name: 'listening_mentions_p203205', rows_moved: 1 }]);
    expect(await mentionsWhere(db)).toEqual({ listening_mentions_p203112: 3, listening_mentions_p203201: 2, listening_mentions_p203205: 1 });
    expect(await mentionFingerprint(db)).toEqual(before);
    // Identity values were kept, and new rows still get fresh ones.
    await addMentions(['2032-01-02 00:00:00+00']);
    const [{ distinct, total }] = await db.query<{ distinct: number; total: number }>(
      `SELECT count(DISTINCT id)::int AS distinct, count(*)::int AS total FROM listening_mentions`,
    );
    expect(distinct).toBe(total);
  });

  it('rolls back every move and every new partition when one month fails', async () => {
    await addMentions(['2031-12-03 00:00:00+00', '2032-01-04 00:00:00+00', '2032-02-05 00:00:00+00']);
    const before = await mentionFingerprint(db);
    const partitionsBefore = await partitionsOf(db);
    // A stray table already holding the name of the third month's partition.
    await db.query(`CREATE TABLE public.listening_mentions_p203202 (id bigint)`);

    const error = await pgError(db, `SELECT * FROM dbops.create_monthly_partitions('public.listening_mentions', 2, p_now => '2031-12-10')`);
    expect(error?.message).toBe('table public.listening_mentions_p203202 exists but is not a partition of public.listening_mentions');
    expect(await partitionsOf(db)).toEqual(partitionsBefore);
    expect(await mentionsWhere(db)).toEqual({ listening_mentions_default: 3 });
    expect(await mentionFingerprint(db)).toEqual(before);
  });

  it('serializes two runs at once: the second waits, then finds the partitions made', async () => {
    const a = await db.newPool({ max: 1 }).connect();
    const b = await db.newPool({ max: 1 }).connect();
    try {
      await a.query('BEGIN');
      await a.query(`SELECT * FROM dbops.create_monthly_partitions('public.security_audit_logs', 1, p_now => '2033-06-01')`);
      const second = b.query<{ created: boolean }>(`SELECT created FROM dbops.create_monthly_partitions('public.security_audit_logs', 1, p_now => '2033-06-01')`);
      // Commit only once the second run is really waiting on the advisory lock.
      for (let i = 0; i < 200; i++) {
        const [{ waiting }] = await db.query<{ waiting: number }>(`SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
        if (waiting > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(await db.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).toEqual([{ n: 1 }]);
      await a.query('COMMIT');
      expect((await second).rows).toEqual([{ created: false }, { created: false }]);
    } finally {
      a.release();
      b.release();
    }
  });

  describe('retention', () => {
    /** Partitions for the 7 months from 30 months ago up to 24 months ago, each holding one mention. */
    async function oldMonths(): Promise<string[]> {
      const rows = await db.query<{ partition_name: string; range_start: Date }>(
        `SELECT partition_name, range_start FROM dbops.create_monthly_partitions('public.listening_mentions', 6,
           p_now => dbops.utc_month_add(dbops.utc_month_start(now()), -30))`,
      );
      await addMentions(rows.map((r) => new Date(r.range_start.getTime() + 3_600_000).toISOString()));
      return rows.map((r) => r.partition_name);
    }

    it('dry-run lists exactly the partitions wholly before the cutoff and changes nothing', async () => {
      const months = await oldMonths();
      const partitionsBefore = await partitionsOf(db);
      const before = await mentionFingerprint(db);
      const listed = await db.query<{ partition_name: string; dropped: boolean }>(
        `SELECT partition_name, dropped FROM dbops.drop_old_partitions('public.listening_mentions', p_dry_run => true)`,
      );
      // Cutoff = start of this month - 24 months: the six older months go; the month starting at the cutoff stays.
      expect(listed).toEqual(months.slice(0, 6).map((partition_name) => ({ partition_name, dropped: false })));
      expect(await partitionsOf(db)).toEqual(partitionsBefore);
      expect(await mentionFingerprint(db)).toEqual(before);
    });

    it('drops only partitions past retention and keeps the one that still holds in-retention data', async () => {
      const months = await oldMonths();
      // An ancient row with no partition of its own, in the default partition: never dropped.
      await addMentions(['2001-01-01 00:00:00+00']);
      const dropped = await db.query<{ partition_name: string; dropped: boolean }>(
        `SELECT partition_name, dropped FROM dbops.drop_old_partitions(p_table => 'public.listening_mentions', p_retention_months => 24)`,
      );
      expect(dropped.map((r) => r.partition_name)).toEqual(months.slice(0, 6));
      expect(dropped.every((r) => r.dropped)).toBe(true);
      const left = (await partitionsOf(db)).map((p) => p.name);
      expect(left).toContain(months[6]);
      expect(left).toContain('listening_mentions_default');
      for (const name of months.slice(0, 6)) {
        expect(left).not.toContain(name);
        expect(await db.query(`SELECT to_regclass($1) AS t`, [`public.${name}`])).toEqual([{ t: null }]);
      }
      expect(await mentionsWhere(db)).toEqual({ listening_mentions_default: 1, [months[6]]: 1 });
      // A re-run finds nothing more to do.
      expect(await db.query(`SELECT * FROM dbops.drop_old_partitions('public.listening_mentions')`)).toEqual([]);
    });

    it('uses each table\'s retention from the registry unless overridden', async () => {
      await db.query(`SELECT * FROM dbops.create_monthly_partitions(p_months_ahead => 1, p_now => dbops.utc_month_add(dbops.utc_month_start(now()), -3))`);
      await db.query(`UPDATE dbops.partitioned_tables SET retention_months = 1 WHERE table_name = 'public.security_audit_logs'`);
      const listed = await db.query<{ table_name: string; n: number }>(
        `SELECT table_name, count(*)::int AS n FROM dbops.drop_old_partitions(p_dry_run => true) GROUP BY 1 ORDER BY 1`,
      );
      // Audit logs keep 1 month: months -3 and -2 end at or before the cutoff (-1). Mentions keep 24 months: nothing.
      expect(listed).toEqual([{ table_name: 'public.security_audit_logs', n: 2 }]);
      const overridden = await db.query(`SELECT partition_name FROM dbops.drop_old_partitions('public.security_audit_logs', 2, true)`);
      // With 2 months' retention the cutoff is month -2: only month -3 ends by then.
      expect(overridden).toHaveLength(1);
    });

    it('puts the cutoff on a month boundary across a year end (p_now in the past)', async () => {
      await db.query(`SELECT * FROM dbops.create_monthly_partitions('public.security_audit_logs', 3, p_now => '2025-10-15')`);
      const listed = await db.query(
        `SELECT partition_name, range_end = '2025-12-01 00:00:00+00' OR range_end = '2025-11-01 00:00:00+00' AS before_cutoff
           FROM dbops.drop_old_partitions('public.security_audit_logs', 1, true, p_now => '2026-01-10 12:00:00+00')`,
      );
      expect(listed).toEqual([
        { partition_name: 'security_audit_logs_p202510', before_cutoff: true },
        { partition_name: 'security_audit_logs_p202511', before_cutoff: true },
      ]);
    });
  });

  describe('bad input is rejected with a clear error and changes nothing', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['an unmanaged table', `SELECT * FROM dbops.create_monthly_partitions('public.posts')`, /table "public\.posts" is not managed by dbops\.partitioned_tables \(managed: public\.listening_mentions, public\.security_audit_logs\)/],
      ['a table that does not exist', `SELECT * FROM dbops.create_monthly_partitions('nope')`, /table "nope" does not exist/],
      ['a name carrying SQL', `SELECT * FROM dbops.create_monthly_partitions('public.listening_mentions; DROP TABLE posts')`, /does not exist/],
      ['an empty table name', `SELECT * FROM dbops.create_monthly_partitions('')`, /p_table must name a partitioned table/],
      ['zero months ahead', `SELECT * FROM dbops.create_monthly_partitions('public.listening_mentions', 0)`, /p_months_ahead must be between 1 and 120, got 0/],
      ['negative months ahead', `SELECT * FROM dbops.create_monthly_partitions(p_months_ahead => -2)`, /p_months_ahead must be between 1 and 120, got -2/],
      ['a partition instead of its parent', `SELECT * FROM dbops.drop_old_partitions('public.listening_mentions_default')`, /not managed/],
      ['zero retention', `SELECT * FROM dbops.drop_old_partitions('public.listening_mentions', 0)`, /p_retention_months must be at least 1, got 0/],
      ['an unmanaged table to drop from', `SELECT * FROM dbops.drop_old_partitions('public.posts', 1)`, /not managed/],
      ['a cutoff in the future', `SELECT * FROM dbops.drop_old_partitions(p_now => now() + interval '40 days')`, /p_now must not be later than now\(\)/],
      ['a registry row with zero premake months', `UPDATE dbops.partitioned_tables SET premake_months = 0`, /partitioned_tables_premake_months_check/],
      ['storage options smuggling SQL', `UPDATE dbops.partitioned_tables SET partition_options = ARRAY['fillfactor=90) TABLESPACE x; DROP TABLE posts; --']`, /partitioned_tables_partition_options_check/],
    ];

    it.each(cases)('%s', async (_name, statement, message) => {
      await addMentions(['2030-03-03 00:00:00+00']); // in the default partition, so a wrong call would have something to move
      const partitionsBefore = await partitionsOf(db);
      const before = await mentionFingerprint(db);
      const registry = await db.query(`SELECT * FROM dbops.partitioned_tables ORDER BY 1`);
      const error = await pgError(db, statement);
      expect(error?.message).toMatch(message);
      expect(await partitionsOf(db)).toEqual(partitionsBefore);
      expect(await mentionFingerprint(db)).toEqual(before);
      expect(await db.query(`SELECT * FROM dbops.partitioned_tables ORDER BY 1`)).toEqual(registry);
    });
  });

  it('names a registered table that no longer exists instead of failing somewhere deeper', async () => {
    await db.query(`INSERT INTO dbops.partitioned_tables (table_name, partition_column) VALUES ('public.zz_gone', 'created_at')`);
    const before = await partitionsOf(db);
    const error = await pgError(db, `SELECT * FROM dbops.create_monthly_partitions(p_months_ahead => 8)`);
    expect(error?.message).toBe('table "public.zz_gone" does not exist');
    expect(await partitionsOf(db)).toEqual(before); // the tables before it in the loop were rolled back too
    expect((await pgError(db, `SELECT * FROM dbops.drop_old_partitions(p_dry_run => true)`))?.message).toBe('table "public.zz_gone" does not exist');
  });

  it('gives new partitions the storage options of the registry (autovacuum settings cannot go on a partitioned parent)', async () => {
    await db.query(`SELECT * FROM dbops.create_monthly_partitions('public.security_audit_logs', 1, p_now => '2034-02-01')`);
    const options = await db.query<{ relname: string; reloptions: string[] | null }>(
      `SELECT relname, reloptions FROM pg_class WHERE relname IN ('security_audit_logs', 'security_audit_logs_p203402', 'security_audit_logs_default') ORDER BY 1`,
    );
    const [registry] = await db.query<{ partition_options: string[] }>(
      `SELECT partition_options FROM dbops.partitioned_tables WHERE table_name = 'public.security_audit_logs'`,
    );
    expect(registry.partition_options.length).toBeGreaterThan(0);
    expect(options).toEqual([
      { relname: 'security_audit_logs', reloptions: null },
      { relname: 'security_audit_logs_default', reloptions: registry.partition_options },
      { relname: 'security_audit_logs_p203402', reloptions: registry.partition_options },
    ]);
  });

  describe('dbops.partition_status', () => {
    interface Status {
      table_name: string;
      partition_count: number;
      total_bytes: string;
      default_rows: string;
      headroom_months: number;
      newest_partition_end: Date;
    }
    const status = () => db.query<Status & Record<string, unknown>>(`SELECT * FROM dbops.partition_status ORDER BY table_name`);
    const monthStart = async (offset: number) =>
      (await db.query<{ t: Date }>(`SELECT dbops.utc_month_add(dbops.utc_month_start(now()), $1) AS t`, [offset]))[0].t;

    it('reports the migration\'s premade months as headroom, and counts rows stuck in the default partition', async () => {
      await addMentions(['2040-01-01 00:00:00+00', '2041-06-01 00:00:00+00']);
      const rows = await status();
      expect(rows.map((r) => [r.table_name, r.partition_count, r.headroom_months, Number(r.default_rows)])).toEqual([
        ['public.listening_mentions', 4, 3, 2],
        ['public.security_audit_logs', 4, 3, 0],
      ]);
      expect(rows[0].newest_partition_end).toEqual(await monthStart(4));
      const [sizes] = await db.query<{ mentions: string }>(
        `SELECT sum(pg_total_relation_size(inhrelid))::text AS mentions FROM pg_inherits WHERE inhparent = 'public.listening_mentions'::regclass`,
      );
      expect(rows[0].total_bytes).toBe(sizes.mentions);
    });

    it('counts only contiguous months of headroom', async () => {
      await db.query(`SELECT * FROM dbops.create_monthly_partitions(p_months_ahead => 6)`);
      expect((await status()).map((r) => r.headroom_months)).toEqual([6, 6]);
      const [{ name }] = await db.query<{ name: string }>(
        `SELECT dbops.monthly_partition_name('security_audit_logs', dbops.utc_month_add(dbops.utc_month_start(now()), 3)) AS name`,
      );
      await db.query(`ALTER TABLE security_audit_logs DETACH PARTITION ${name}`);
      const rows = await status();
      expect(rows.map((r) => [r.table_name, r.headroom_months, r.partition_count])).toEqual([
        ['public.listening_mentions', 6, 7],
        ['public.security_audit_logs', 2, 6],
      ]);
      expect(rows[1].newest_partition_end).toEqual(await monthStart(7));
    });
  });
});
