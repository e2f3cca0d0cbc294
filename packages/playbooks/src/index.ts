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
export { unknownPlaybook } from "./unknown/playbook.ts";
export { builtinPlaybooks } from "./builtins.ts";
export { createHostActions, type HostActions } from "./actions/host-actions.ts";
export { hostActionsConfigSchema, type HostActionsConfig } from "./actions/config.ts";
export { describeExit, outputTail, runCommand, type ExecResult } from "./actions/exec.ts";
export type { Band, Confidence, ConfidenceFactor } from "./engine/confidence.ts";
export { runPlaybook, type EngineHooks, type EngineOptions, type EngineResult, type EngineStatus } from "./engine/run-playbook.ts";
export type { BeginResult, GateBlock } from "./engine/rails.ts";
export { selectPlaybook, UNKNOWN_PLAYBOOK } from "./engine/select.ts";
export { playbookJsonSchema, type YamlPlaybook } from "./yaml/schema.ts";
export { compileYamlPlaybook } from "./yaml/compile.ts";
export { lintPlaybookFile, loadOperatorPlaybooks, playbookFiles, PlaybookLoadError, type LintResult } from "./yaml/load.ts";
export { engineOptions, memoryContext, memoryHooks } from "./engine/test-support.ts";
export { paramsAsLabels, validateBroadcastParams } from "./broadcast/params.ts";
