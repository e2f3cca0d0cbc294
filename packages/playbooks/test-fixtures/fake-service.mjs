/* global process, console, URL */
// A service manager for tests on hosts without systemd: `fake-service.mjs <status|restart|logs> <name> [lines]`.
// State lives next to this file's copy in the test's temp folder. Every call is appended to calls.log.
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const dir = process.env.FAKE_SERVICE_DIR ?? path.dirname(new URL(import.meta.url).pathname);
const [cmd, name, lines] = process.argv.slice(2);
appendFileSync(path.join(dir, "calls.log"), JSON.stringify(process.argv.slice(2)) + "\n");
const conf = JSON.parse(readFileSync(path.join(dir, "services.json"), "utf8"))[name];
if (!conf) {
  console.error(`unknown service ${name}`);
  process.exit(4);
}
const pidFile = path.join(dir, `${name}.pid`);
const logFile = path.join(dir, `${name}.log`);
const alive = () => {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, "utf8"));
  try {
    process.kill(pid, 0);
  } catch {
    return null;
  }
  // An exited child nobody reaped yet (its parent was this script) still answers kill 0: a zombie is down.
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
  return / Z /.test(stat.slice(stat.lastIndexOf(")"))) ? null : pid;
};

if (cmd === "status") {
  const pid = alive();
  console.log(pid ? `running (pid ${pid})` : "stopped");
  process.exit(pid ? 0 : 3);
} else if (cmd === "restart") {
  const pid = alive();
  if (pid) process.kill(pid, "SIGKILL");
  const out = openSync(logFile, "a");
  const child = spawn(process.execPath, [path.join(dir, "server.mjs"), String(conf.port), conf.mode ?? "ok"], { detached: true, stdio: ["ignore", out, out] });
  writeFileSync(pidFile, String(child.pid));
  child.unref();
  console.log(`started pid ${child.pid}`);
} else if (cmd === "logs") {
  const text = existsSync(logFile) ? readFileSync(logFile, "utf8").trimEnd().split("\n") : [];
  console.log(text.slice(-Number(lines ?? 20)).join("\n"));
} else {
  console.error(`usage: ${cmd}`);
  process.exit(2);
}
