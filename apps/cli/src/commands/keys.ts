import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { generateOperatorKeyPair } from "@ccm/security";
import { parse, UsageError } from "../args.ts";

/** ccm keys generate [--out-dir DIR] [--name NAME]: an ed25519 operator key pair for signing ad-hoc commands. */
export async function keysCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== "generate") throw new UsageError(`unknown keys command ${sub ?? "(none)"}; try: ccm keys generate`);
  const { values } = parse(rest, {
    "out-dir": { type: "string", default: path.join(process.env.HOME ?? ".", ".ccm", "keys") },
    name: { type: "string", default: "operator" },
  });
  const name = values.name;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new UsageError("--name: letters, digits, '.', '_', '-'");
  const dir = path.resolve(values["out-dir"]);
  const privatePath = path.join(dir, `${name}.key`);
  const publicPath = path.join(dir, `${name}.pub`);
  if (existsSync(privatePath)) throw new UsageError(`${privatePath} exists; choose another --name (keys are never overwritten)`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pair = generateOperatorKeyPair();
  await writeFile(privatePath, pair.privateKeyPem, { mode: 0o600, flag: "wx" });
  await writeFile(publicPath, pair.publicKeyPem, { mode: 0o644, flag: "wx" });
  console.log(
    [
      `key ${pair.keyId}`,
      `  private: ${privatePath} (0600; keep it off the fleet and out of the database)`,
      `  public:  ${publicPath}`,
      "",
      "Trust it on each agent by adding the public key to /etc/ccm/agent.yaml:",
      "",
      "trusted_command_keys:",
      "  - |",
      ...pair.publicKeyPem.trimEnd().split("\n").map((l) => `    ${l}`),
    ].join("\n"),
  );
}
