/**
 * Database objects the dashboard and alarms address by name. They mirror dbops.partitioned_tables
 * and dbops.materialized_views (migrations 020, 040, 070 and 093); per-table and per-view metrics carry these
 * names as their Table / View dimension values.
 */
export const MANAGED_PARTITIONED_TABLES = ['public.listening_mentions', 'public.security_audit_logs'] as const;

export const MANAGED_MATERIALIZED_VIEWS = [
  'public.mv_daily_post_metrics',
  'public.mv_daily_workspace_activity',
  'public.mv_conversation_metrics',
  'public.mv_listening_sentiment_trends',
  'public.mv_influencer_metrics',
  'public.analytics_post_engagement',
  'public.analytics_campaign_totals',
  'dbops.analytics_post_days',
] as const;

/** The database role the maintenance functions log in as (GRANT pg_maintain, rds_iam; see README "Deploy"). */
export const MAINTENANCE_DB_USER = 'dbops_maintenance';

/** The platform application's database role (GRANT rds_iam); the proxy may log in as it. */
export const APPLICATION_DB_USER = 'platform_app';
