import { hostActionsConfigSchema, type HostActionsConfig } from "./config.ts";
import { runCommand, type ExecResult } from "./exec.ts";
import { hostFacts, topProcesses, type HostFacts, type ProcessInfo } from "./facts.ts";
import { tailFile } from "./log-tail.ts";
import { createServiceManager, type ServiceManager } from "./services.ts";

/** Refused: the command is not in the agent's `actions.commands` allow-list. */
export class CommandNotAllowedError extends Error {
  override readonly name = "CommandNotAllowedError";
}

/** The typed actions a playbook may take on this host, bound to the agent's `actions:` config. */
export interface HostActions {
  config: HostActionsConfig;
  services: ServiceManager;
  facts(): Promise<HostFacts>;
  topProcesses(by: "memory" | "cpu", n: number): Promise<ProcessInfo[]>;
  tailLog(file: string, lines: number): Promise<string>;
  /** An allow-listed command by name, with its configured argv; nothing from an alert is added. */
  runAllowed(name: string, signal: AbortSignal, input?: string): Promise<ExecResult>;
  /** Any argv the playbook itself built from configuration (journalctl, logrotate, an investigator). */
  run(argv: readonly string[], signal: AbortSignal, opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
}

export function createHostActions(raw: unknown = {}): HostActions {
  const config = hostActionsConfigSchema.parse(raw);
  const services = createServiceManager(config);
  const run: HostActions["run"] = (argv, signal, opts = {}) =>
    runCommand(argv, { timeoutMs: opts.timeoutMs ?? config.command_timeout_ms, outputCapBytes: config.output_cap_bytes, signal, input: opts.input });
  return {
    config,
    services,
    facts: hostFacts,
    topProcesses,
    tailLog: (file, lines) => tailFile(file, config.log_roots, lines),
    runAllowed(name, signal, input) {
      if (!Object.hasOwn(config.commands, name)) throw new CommandNotAllowedError(`command ${JSON.stringify(name.slice(0, 80))} is not in actions.commands`);
      const c = config.commands[name] as { argv: string[]; timeout_ms?: number };
      return run(c.argv, signal, { input, timeoutMs: c.timeout_ms });
    },
    run,
  };
}
