/**
 * How much data each benchmark scale generates. Medium is the scale the performance goals are
 * judged at; small is 1/200 of it for CI smoke runs; tiny only exercises the harness in jest.
 * Counts marked "exact" are what the generator must produce row for row (the harness test checks
 * them); the rest are derived per workspace.
 */
export const SCALE_NAMES = ['tiny', 'small', 'medium'] as const;
export type ScaleName = (typeof SCALE_NAMES)[number];

export interface ScaleSpec {
  name: ScaleName;
  workspaces: number;
  /** Users per workspace (every user belongs to exactly one workspace). */
  usersPerWorkspace: number;
  socialAccountsPerWorkspace: number;
  /**
   * Campaigns follow tenant size: a workspace gets one campaign per this many of its expected
   * campaign posts (at least 2), each covering its own slice of the history. A fixed count per
   * workspace would give the biggest tenant campaigns of tens of thousands of posts.
   */
  postsPerCampaign: number;
  listeningQueriesPerWorkspace: number;
  /** exact */
  posts: number;
  /** Of the posts, SCHEDULED and already due: the publishing queue's work. exact */
  duePosts: number;
  /** Targets per post; post_targets = posts * targetsPerPost (exact). */
  targetsPerPost: number;
  /** exact; a multiple of metricDaysPerTarget. */
  postMetricsDaily: number;
  metricDaysPerTarget: number;
  /** exact */
  conversations: number;
  /** exact */
  messages: number;
  /** exact, spread over `months` monthly partitions. */
  listeningMentions: number;
  /** exact */
  securityAuditLogs: number;
  /** exact */
  influencers: number;
  influencerAccountsPerInfluencer: number;
  /** exact */
  influencerCollaborations: number;
  /** Months of history, the current month included. */
  months: number;
  /** Rows the ingest measurement inserts per table variant. */
  ingestRows: number;
  ingestBatchRows: number;
  /** Executions per query pattern. */
  queryExecutions: number;
  /** Wall-clock cap per pattern on the baseline, whose scans can take seconds each. */
  baselinePatternBudgetMs: number;
  /** Baseline executions run even past the cap, so its p95 rests on something. */
  baselineMinExecutions: number;
  queueWorkers: number;
  queueBatchSize: number;
  /** Posts due at one instant: the burst drain, the pg-boss side-by-side and the fault run each get this many. */
  queueBurstPosts: number;
  /** Batch of the burst drain, pg-boss and the fault run (the claim goal is stated for 50). */
  queueBurstBatchSize: number;
  /**
   * Drains of a burst through the whole lifecycle and by a publisher on pg-boss, taken in turns
   * (the order swapped every other pair), each over a fresh burst: one drain each moves with
   * whatever else the machine is doing, a median of alternated pairs much less.
   */
  queueLifecyclePairs: number;
}

const MEDIUM: ScaleSpec = {
  name: 'medium',
  workspaces: 2_000,
  usersPerWorkspace: 10,
  socialAccountsPerWorkspace: 4,
  postsPerCampaign: 120,
  listeningQueriesPerWorkspace: 3,
  posts: 1_000_000,
  duePosts: 20_000,
  targetsPerPost: 3,
  postMetricsDaily: 1_000_000,
  metricDaysPerTarget: 4,
  conversations: 500_000,
  messages: 1_500_000,
  listeningMentions: 3_000_000,
  securityAuditLogs: 1_000_000,
  influencers: 20_000,
  influencerAccountsPerInfluencer: 2,
  influencerCollaborations: 30_000,
  months: 24,
  ingestRows: 100_000,
  ingestBatchRows: 1_000,
  queryExecutions: 200,
  baselinePatternBudgetMs: 5_000,
  baselineMinExecutions: 5,
  queueWorkers: 8,
  queueBatchSize: 10,
  queueBurstPosts: 100_000,
  queueBurstBatchSize: 50,
  queueLifecyclePairs: 3,
};

const SMALL: ScaleSpec = {
  ...MEDIUM,
  name: 'small',
  workspaces: 100,
  posts: 5_000,
  duePosts: 2_000,
  postMetricsDaily: 5_000,
  conversations: 2_500,
  messages: 7_500,
  listeningMentions: 15_000,
  securityAuditLogs: 5_000,
  influencers: 200,
  influencerCollaborations: 300,
  ingestRows: 20_000,
  queueBurstPosts: 5_000,
};

/** Just enough rows for every pattern to find data; the jest harness test runs it. */
const TINY: ScaleSpec = {
  ...SMALL,
  name: 'tiny',
  workspaces: 12,
  usersPerWorkspace: 3,
  posts: 600,
  duePosts: 60,
  postMetricsDaily: 400,
  conversations: 300,
  messages: 700,
  listeningMentions: 1_200,
  securityAuditLogs: 500,
  influencers: 30,
  influencerCollaborations: 40,
  months: 24,
  ingestRows: 2_000,
  ingestBatchRows: 500,
  queryExecutions: 5,
  baselinePatternBudgetMs: 5_000,
  queueWorkers: 4,
  queueBatchSize: 5,
  queueBurstPosts: 300,
  queueBurstBatchSize: 10,
  queueLifecyclePairs: 2,
};

export const SCALES: Record<ScaleName, ScaleSpec> = { tiny: TINY, small: SMALL, medium: MEDIUM };

export function isScaleName(value: string): value is ScaleName {
  return (SCALE_NAMES as readonly string[]).includes(value);
}

export function scaleSpec(name: string): ScaleSpec {
  if (!isScaleName(name)) throw new Error(`unknown scale "${name}" (one of: ${SCALE_NAMES.join(', ')})`);
  const spec = SCALES[name];
  if (spec.postMetricsDaily % spec.metricDaysPerTarget !== 0) {
    throw new Error(`scale ${name}: postMetricsDaily must be a multiple of metricDaysPerTarget`);
  }
  if (spec.duePosts > spec.posts / 2) throw new Error(`scale ${name}: duePosts must be at most half the posts`);
  return spec;
}

/** Share of posts that belong to a campaign. */
export const CAMPAIGN_POST_SHARE = 0.6;

/**
 * Expected posts of workspace w under the generator's Zipf draw, P(w) = ln((w+1)/w) / ln(W+1),
 * turned into campaign counts. Computed here once and handed to SQL as an array, so the generator
 * and the expected row counts can never disagree over floating-point rounding.
 */
export function campaignsPerWorkspace(spec: ScaleSpec): number[] {
  const W = spec.workspaces;
  return Array.from({ length: W }, (_, i) => {
    const w = i + 1;
    const expectedPosts = (spec.posts * Math.log((w + 1) / w)) / Math.log(W + 1);
    return Math.max(2, Math.ceil((expectedPosts * CAMPAIGN_POST_SHARE) / spec.postsPerCampaign));
  });
}

/** Rows per table the generator promises for a scale; the harness test compares against these. */
export function expectedRowCounts(spec: ScaleSpec): Record<string, number> {
  const w = spec.workspaces;
  return {
    workspaces: w,
    users: w * spec.usersPerWorkspace,
    workspace_members: w * spec.usersPerWorkspace,
    social_accounts: w * spec.socialAccountsPerWorkspace,
    campaigns: campaignsPerWorkspace(spec).reduce((sum, c) => sum + c, 0),
    sla_policies: w * 4,
    listening_queries: w * spec.listeningQueriesPerWorkspace,
    posts: spec.posts,
    post_targets: spec.posts * spec.targetsPerPost,
    post_metrics_daily: spec.postMetricsDaily,
    conversations: spec.conversations,
    messages: spec.messages,
    listening_mentions: spec.listeningMentions,
    security_audit_logs: spec.securityAuditLogs,
    influencers: spec.influencers,
    influencer_accounts: spec.influencers * spec.influencerAccountsPerInfluencer,
    influencer_collaborations: spec.influencerCollaborations,
  };
}
