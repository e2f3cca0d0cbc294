import type pg from "pg";
import { classifyDatabaseError } from "./errors.ts";
import type { CcmSupabaseClient } from "./supabase-client.ts";
import { classifySupabaseError } from "./supabase-errors.ts";

/**
 * How the hub and the CLI reach CCM's state: a call of one `ccm.<fn>` SQL function with named
 * arguments. The postgres transport runs it on a pg pool; the supabase transport sends it to
 * PostgREST (`supabase.rpc`) with the service-role key. Both answer exactly what PostgREST
 * answers: a set-returning function gives an array of JSON objects (timestamps as ISO strings,
 * bigints as numbers), any other function its value as JSON. Callers parse it with zod.
 */
export interface Db {
  readonly kind: "postgres" | "supabase";
  call<T = unknown>(fn: string, args?: Record<string, unknown>): Promise<T>;
  /** Readiness: can a call reach the database right now? */
  ping(): Promise<void>;
  /** The pg pool of the postgres transport (the hub's one-round-trip ingest and LISTEN use it). */
  readonly pool?: pg.Pool;
}

interface FunctionSignature {
  params: Array<{ name: string; type: string }>;
  required: number;
  returnsSet: boolean;
  returnsComposite: boolean;
  returnsVoid: boolean;
  /** A set-returning function with exactly one OUT/TABLE column: PostgREST answers [{col: value}], not [value]. */
  singleOutColumn: string | null;
}

const FN_NAME = /^[a-z_][a-z0-9_]*$/;

/** Look up ccm.<fn> the way PostgREST does: by name and the argument names given. */
async function lookupSignature(pool: pg.Pool, fn: string, argNames: string[]): Promise<FunctionSignature> {
  const { rows } = await pool.query<{
    names: string[] | null;
    types: string[];
    nargs: number;
    ndefaults: number;
    retset: boolean;
    composite: boolean;
    void: boolean;
    outs: string[] | null;
  }>(
    `select p.proargnames[1:p.pronargs] as names,
            array(select format_type(t, null) from unnest(p.proargtypes::oid[]) with ordinality as u(t, i) order by i) as types,
            p.pronargs as nargs, p.pronargdefaults as ndefaults, p.proretset as retset,
            (t.typtype = 'c') as composite, (p.prorettype = 'void'::regtype) as void,
            array(select n from unnest(p.proargnames, p.proargmodes) as m(n, mode) where mode in ('o', 't')) as outs
       from pg_proc p
       join pg_namespace n on n.oid = p.pronamespace
       join pg_type t on t.oid = p.prorettype
      where n.nspname = 'ccm' and p.proname = $1`,
    [fn],
  );
  for (const r of rows) {
    const names = (r.names ?? []).slice(0, r.nargs);
    const sig: FunctionSignature = {
      params: names.map((name, i) => ({ name, type: r.types[i]! })),
      required: r.nargs - r.ndefaults,
      returnsSet: r.retset,
      returnsComposite: r.composite,
      returnsVoid: r.void,
      singleOutColumn: r.outs?.length === 1 ? r.outs[0]! : null,
    };
    const known = new Set(names);
    if (argNames.every((a) => known.has(a)) && names.slice(0, sig.required).every((n) => argNames.includes(n))) return sig;
  }
  throw Object.assign(new Error(`no function ccm.${fn}(${argNames.join(", ")}): is the schema migrated?`), { code: "42883" });
}

/**
 * The postgres transport of Db: `ccm.<fn>(name => $1, …)` serialized to JSON in the database, as
 * PostgREST does it, so that both transports hand callers the same values.
 */
export function pgDb(pool: pg.Pool): Db {
  const cached = pgDbs.get(pool);
  if (cached) return cached;
  const signatures = new Map<string, FunctionSignature>();
  const db: Db = {
    kind: "postgres",
    pool,
    async call<T>(fn: string, args: Record<string, unknown> = {}): Promise<T> {
      if (!FN_NAME.test(fn)) throw new Error(`not a function name: ${fn}`);
      const given = Object.keys(args).filter((k) => args[k] !== undefined);
      try {
        const key = `${fn}(${given.join(",")})`;
        let sig = signatures.get(key);
        if (!sig) {
          sig = await lookupSignature(pool, fn, given);
          signatures.set(key, sig);
        }
        const params = sig.params.filter((p) => given.includes(p.name));
        const values = params.map((p) => (/^jsonb?$/.test(p.type) && args[p.name] !== null ? JSON.stringify(args[p.name]) : args[p.name]));
        const call = `ccm.${fn}(${params.map((p, i) => `${p.name} => $${i + 1}::${p.type}`).join(", ")})`;
        const row = sig.singleOutColumn ? `json_build_object('${sig.singleOutColumn}', _t)` : "_t";
        const sql = sig.returnsSet
          ? `select coalesce(json_agg(${row}), '[]'::json) as body from ${call} _t`
          : sig.returnsComposite
            ? `select to_json(_t) as body from ${call} _t`
            : `select to_json(${call}) as body`;
        const { rows } = await pool.query<{ body: unknown }>(sql, values);
        return (sig.returnsVoid ? null : (rows[0]?.body ?? null)) as T;
      } catch (err) {
        throw classifyDatabaseError(err);
      }
    },
    async ping() {
      try {
        await pool.query("select 1");
      } catch (err) {
        throw classifyDatabaseError(err);
      }
    },
  };
  pgDbs.set(pool, db);
  return db;
}
const pgDbs = new WeakMap<pg.Pool, Db>();

/** The supabase transport of Db: PostgREST RPC on the `ccm` schema with the service-role key. */
export function supabaseDb(client: CcmSupabaseClient): Db {
  const db: Db = {
    kind: "supabase",
    async call<T>(fn: string, args: Record<string, unknown> = {}): Promise<T> {
      const { data, error, status } = await client.rpc(fn, args);
      if (error) throw classifySupabaseError(fn, error, status);
      return (data ?? null) as T;
    },
    async ping() {
      await db.call("schema_version");
    },
  };
  return db;
}

/** Hub and CLI functions take a Db; tests and older callers may still hand a pg pool. */
export type DbLike = Db | pg.Pool;

export function toDb(x: DbLike): Db {
  return "call" in x && typeof x.call === "function" ? x : pgDb(x as pg.Pool);
}
