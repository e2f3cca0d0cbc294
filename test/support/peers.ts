import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";

/** Debian's binaries for the real-peer tests; null when not installed. */
export function peerBinaries(): { prometheus: string; alertmanager: string; nodeExporter: string } | null {
  const b = {
    prometheus: "/usr/bin/prometheus",
    alertmanager: "/usr/bin/prometheus-alertmanager",
    nodeExporter: "/usr/bin/prometheus-node-exporter",
  };
  return Object.values(b).every((p) => existsSync(p)) ? b : null;
}

export interface Peer {
  name: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** A real peer process; output kept (bounded) for failure messages. */
export function startPeer(name: string, bin: string, args: string[]): Peer {
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  return {
    name,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** Fill `${NAME}` placeholders of an infra/ template. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (m, k: string) => values[k] ?? m);
}
