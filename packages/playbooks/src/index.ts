export {
  PlaybookInputError,
  type BlastRadius,
  type Diagnosis,
  type MatchResult,
  type ProposedAction,
  type Remediation,
  type Thresholds,
  type Verification,
  type Phase,
  type Playbook,
  type PlaybookContext,
  type PlaybookResult,
  type Risk,
  type RunInput,
  type StepOutcome,
  type StepRecorder,
} from "./types.ts";
export { diskFullPlaybook, createDiskFullPlaybook, type DiskFullPlaybook } from "./disk-full/playbook.ts";
export { diskFullConfigSchema, DEFAULT_LOG_PATTERNS, type DiskFullConfig } from "./disk-full/config.ts";
export { DISK_FULL_ALERTNAMES } from "./disk-full/match.ts";
export { scanOpenFiles, inodeKey, type OpenFiles, type UnreadableProcess } from "./disk-full/open-files.ts";
export { globToRegExp } from "./disk-full/glob.ts";
export { serviceDownPlaybook } from "./service-down/playbook.ts";
export { unknownPlaybook } from "./unknown/playbook.ts";
export { highMemoryPlaybook } from "./high-memory/playbook.ts";
export { highCpuPlaybook } from "./high-cpu/playbook.ts";
export { certExpiryPlaybook } from "./cert-expiry/playbook.ts";
export { logRotationBrokenPlaybook } from "./log-rotation-broken/playbook.ts";
export { builtinPlaybooks } from "./builtins.ts";
export { createHostActions, CommandNotAllowedError, type HostActions } from "./actions/host-actions.ts";
export { hostActionsConfigSchema, type HostActionsConfig } from "./actions/config.ts";
export { runCommand, type ExecResult } from "./actions/exec.ts";
export { ServiceNotAllowedError } from "./actions/services.ts";
export { computeConfidence, DEFAULT_THRESHOLDS, trackRecordValue, type Band, type Confidence, type ConfidenceFactor } from "./engine/confidence.ts";
export { runPlaybook, type EngineHooks, type EngineOptions, type EngineResult, type EngineStatus } from "./engine/run-playbook.ts";
export { RemediationBlocked, readStopFile, type BeginResult, type GateBlock } from "./engine/rails.ts";
export { selectPlaybook, UNKNOWN_PLAYBOOK } from "./engine/select.ts";
export { describeProposal, unapprovedActions } from "./engine/proposal.ts";
export { yamlPlaybookSchema, playbookJsonSchema, type YamlPlaybook } from "./yaml/schema.ts";
export { compileYamlPlaybook, matchLabels } from "./yaml/compile.ts";
export { lintPlaybookFile, loadOperatorPlaybooks, playbookFiles, PlaybookLoadError, type LintResult } from "./yaml/load.ts";
export { engineOptions, memoryContext, memoryHooks } from "./engine/test-support.ts";
export { broadcastPlaybooks } from "./broadcast/playbooks.ts";
export { broadcastParamsSchema, paramsAsLabels, validateBroadcastParams } from "./broadcast/params.ts";
export { packageUpdatePlaybook } from "./package-update/playbook.ts";
export { packageUpdateParamsSchema, PACKAGE_NAME, PACKAGE_VERSION } from "./package-update/params.ts";
export { serviceRestartPlaybook } from "./service-restart/playbook.ts";
export { collectFactsPlaybook } from "./collect-facts/playbook.ts";
