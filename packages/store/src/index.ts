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
export { ingestAlerts, ping, recoverExpiredLeases, type IngestResult, type RecoveredRun } from "./hub-store.ts";
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
