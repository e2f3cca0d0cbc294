import { randomBytes } from "node:crypto";
import { open, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { describeError, fail, pass, type CheckResult } from "./check-result.ts";

const TITLE = "state folder writable";

/** The agent keeps its journal and lock in state_dir / CCM_STATE_DIR (default /var/lib/ccm): create and remove a file there. */
export async function checkStateDir(configured: string | undefined): Promise<CheckResult> {
  const dir = path.resolve(configured || "/var/lib/ccm");
  const create = `create it: install -d -m 0750 -o ccm -g ccm ${dir} (install.sh does), or set state_dir in the config (CCM_STATE_DIR)`;
  const st = await stat(dir).catch((err: unknown) => err as Error);
  if (st instanceof Error) return fail("state-dir", TITLE, `${dir}: ${describeError(st)}`, create);
  if (!st.isDirectory()) return fail("state-dir", TITLE, `${dir} is not a folder`, create);
  const probe = path.join(dir, `.ccm-check-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    const fh = await open(probe, "wx", 0o600);
    try {
      await fh.writeFile("ccm agent check\n");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await unlink(probe);
    return pass("state-dir", TITLE, `${dir} (created and removed a file)`);
  } catch (err) {
    await unlink(probe).catch(() => undefined);
    return fail(
      "state-dir",
      TITLE,
      `${dir}: ${describeError(err)}`,
      `let the agent's user write there (chown ccm:ccm ${dir}); under systemd the unit's ReadWritePaths must include it`,
    );
  }
}
