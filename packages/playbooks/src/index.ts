export {
  PlaybookInputError,
  type Phase,
  type Playbook,
  type PlaybookContext,
  type PlaybookResult,
  type Risk,
  type RunInput,
  type StepOutcome,
  type StepRecorder,
} from "./types.ts";
export { diskFullPlaybook, createDiskFullPlaybook } from "./disk-full/playbook.ts";
export { diskFullConfigSchema, DEFAULT_LOG_PATTERNS, type DiskFullConfig } from "./disk-full/config.ts";
export { DISK_FULL_ALERTNAMES } from "./disk-full/match.ts";
export { scanOpenFiles, inodeKey, type OpenFiles, type UnreadableProcess } from "./disk-full/open-files.ts";
export { globToRegExp } from "./disk-full/glob.ts";
