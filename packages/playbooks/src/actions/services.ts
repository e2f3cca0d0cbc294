import { describeExit, outputTail, runCommand, type ExecResult } from "./exec.ts";
import type { HostActionsConfig, ServiceConfig } from "./config.ts";

export interface ServiceStatus {
  active: boolean;
  /** systemd ActiveState, or "running"/"stopped" from a status command. */
  state: string;
  detail: string;
  exec: ExecResult;
}

export interface ServiceResult {
  ok: boolean;
  detail: string;
  exec: ExecResult;
}

/** Where service operations go: systemd, or operator commands for hosts without it. */
export interface ServiceManager {
  kind: "systemd" | "command";
  status(name: string, signal: AbortSignal): Promise<ServiceStatus>;
  restart(name: string, signal: AbortSignal): Promise<ServiceResult>;
  logs(name: string, lines: number, signal: AbortSignal): Promise<ServiceResult>;
}

/** Refused before anything runs: the service is not in the agent's `actions.services` allow-list. */
export class ServiceNotAllowedError extends Error {
  override readonly name = "ServiceNotAllowedError";
  constructor(readonly service: string) {
    super(`service ${JSON.stringify(service.slice(0, 80))} is not in actions.services on this host`);
  }
}

/** Look a name up in the allow-list; the returned key (never the label) is what reaches a command. */
export function allowedService(config: HostActionsConfig, name: string | undefined): { name: string; service: ServiceConfig } | null {
  if (!name) return null;
  const bare = name.endsWith(".service") ? name.slice(0, -".service".length) : name;
  for (const key of [name, bare]) {
    if (Object.hasOwn(config.services, key)) return { name: key, service: config.services[key] as ServiceConfig };
  }
  return null;
}

export function createServiceManager(config: HostActionsConfig): ServiceManager {
  const opts = (signal: AbortSignal) => ({ timeoutMs: config.command_timeout_ms, outputCapBytes: config.output_cap_bytes, signal });
  const lookup = (name: string) => {
    const found = allowedService(config, name);
    if (!found) throw new ServiceNotAllowedError(name);
    return found;
  };

  if (config.service_manager === "systemd") {
    const unit = (name: string) => {
      const { name: key, service } = lookup(name);
      const u = service.unit ?? key;
      return u.includes(".") ? u : `${u}.service`;
    };
    return {
      kind: "systemd",
      async status(name, signal) {
        const exec = await runCommand(["systemctl", "show", "--property=ActiveState,SubState,MainPID", "--", unit(name)], opts(signal));
        const props = Object.fromEntries(exec.stdoutTail.split("\n").map((l) => l.split("=", 2) as [string, string]));
        const state = props.ActiveState ?? "unknown";
        return { active: exec.exitCode === 0 && state === "active", state, detail: `${state}/${props.SubState ?? "?"} (${describeExit(exec)})`, exec };
      },
      async restart(name, signal) {
        const exec = await runCommand(["systemctl", "restart", "--", unit(name)], opts(signal));
        return { ok: exec.exitCode === 0, detail: describeExit(exec), exec };
      },
      async logs(name, lines, signal) {
        const exec = await runCommand(["journalctl", "--no-pager", "-o", "short-iso", "-n", String(lines), "-u", unit(name)], opts(signal));
        return { ok: exec.exitCode === 0, detail: describeExit(exec), exec };
      },
    };
  }

  const commands = config.service_commands;
  if (!commands) throw new TypeError("service_manager command needs service_commands");
  // "{service}" is replaced only as a whole argument, by the allow-list key: nothing is ever concatenated.
  const argv = (template: readonly string[], name: string) => template.map((a) => (a === "{service}" ? lookup(name).name : a));
  return {
    kind: "command",
    async status(name, signal) {
      const exec = await runCommand(argv(commands.status, name), opts(signal));
      const active = exec.exitCode === 0;
      return { active, state: active ? "running" : "stopped", detail: `${describeExit(exec)}: ${outputTail(exec, 200)}`, exec };
    },
    async restart(name, signal) {
      const exec = await runCommand(argv(commands.restart, name), opts(signal));
      return { ok: exec.exitCode === 0, detail: describeExit(exec), exec };
    },
    async logs(name, lines, signal) {
      if (!commands.logs) {
        lookup(name);
        return { ok: false, detail: "no logs command configured", exec: emptyExec() };
      }
      const exec = await runCommand([...argv(commands.logs, name), String(lines)], opts(signal));
      return { ok: exec.exitCode === 0, detail: describeExit(exec), exec };
    },
  };
}

function emptyExec(): ExecResult {
  return { argv: [], exitCode: null, timedOut: false, signal: null, failedToStart: null, stdoutTail: "", stderrTail: "", durationMs: 0 };
}
