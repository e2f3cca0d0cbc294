export {
  DatabaseUnavailableError,
  MigrationError,
  classifyDatabaseError,
  errorMessage,
  isConnectionError,
} from "./errors.ts";
export { createPool, withTransaction, type Pool, type PoolClient, type PoolOptions } from "./pool.ts";
export { defaultMigrationsDir, migrate, type MigrationResult } from "./migrate.ts";
export { startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded.ts";
export {
  PgAgentStore,
  claimedRunSchema,
  type AgentStore,
  type ClaimedRun,
  type Enrolment,
  type FinalRunStatus,
  type StepResult,
  type StepStatus,
} from "./agent-store.ts";
export { ingestAlerts, recoverExpiredLeases, type IngestResult, type RecoveredRun } from "./hub-store.ts";
export {
  TaskNotFoundError,
  getTask,
  listTasks,
  listTasksQuery,
  taskDetailQueries,
  type TaskDetail,
  type TaskRow,
} from "./task-queries.ts";
export { subscribeWakeups, type WakeupHandlers, type WakeupSubscription } from "./wakeups.ts";
export { agentChannel } from "./channel.ts";
export {
  PgRemediationStore,
  type BeginRemediation,
  type GateBlock,
  type RemediationStore,
  type RunContext,
  type TrackRecord,
} from "./remediation-store.ts";
export {
  InvalidRunIdError,
  decideApproval,
  getFleetPause,
  resolveRunId,
  setFleetPause,
  type ApprovalDecision,
  type FleetPause,
} from "./operator-controls.ts";
export { createAgentTransport, type AgentTransport, type AgentTransportConfig } from "./agent-transport.ts";
export { SupabaseAgentStore } from "./supabase-agent-store.ts";
export { SupabaseRemediationStore } from "./supabase-remediation-store.ts";
export { createCcmSupabaseClient, type CcmSupabaseClient, type SupabaseClientOptions } from "./supabase-client.ts";
export { SupabaseCallError, classifySupabaseError } from "./supabase-errors.ts";
export { subscribeRealtimeWakeups, type RealtimeWakeupMode } from "./supabase-wakeups.ts";
export { dbAgentTokenAdmin, type AgentTokenAdmin } from "./agent-token-admin.ts";
export {
  AlertNotFoundError,
  alertDetailQuery,
  getAlert,
  listAlerts,
  listAlertsQuery,
  type AlertDetail,
  type AlertRow,
} from "./alert-queries.ts";
export {
  BroadcastNotFoundError,
  BroadcastRejectedError,
  BroadcastStateError,
  advanceBroadcasts,
  broadcastQueries,
  broadcastSelectorSchema,
  broadcastSpecSchema,
  controlBroadcast,
  createBroadcast,
  getBroadcast,
  listBroadcasts,
  type BroadcastAction,
  type BroadcastDetail,
  type BroadcastHost,
  type BroadcastRow,
  type BroadcastSelector,
  type BroadcastSpec,
} from "./broadcast-store.ts";
export {
  broadcastCommandSchema,
  commandBroadcastQueries,
  commandTargetAgentSchema,
  commandTargets,
  CommandTargetsChangedError,
  createCommandBroadcast,
  createSignedCommandBroadcast,
  signedCommandTaskSchema,
  type BroadcastCommand,
  type CommandTarget,
  type CommandTargetAgent,
  type SignedCommandTask,
} from "./command-broadcast-store.ts";
export { refusalMessage } from "./refusal.ts";
export { pgDb, supabaseDb, toDb, type Db, type DbLike } from "./db.ts";
export { SchemaOutdatedError, assertSchemaCurrent, latestMigrationVersion } from "./schema-check.ts";
