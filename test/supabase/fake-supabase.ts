import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type pg from "pg";

/**
 * A local stand-in for a Supabase project's API gateway, for tests: PostgREST RPC on
 * /rest/v1/rpc/<fn> (delegated to the real test Postgres as PostgREST does it: a transaction — READ ONLY for STABLE/IMMUTABLE functions —,
 * `set local role`, request.jwt.claims, the function called with named arguments) and Realtime
 * on /realtime/v1/websocket (Phoenix channel protocol, serializer 2.0.0: JSON arrays
 * [join_ref, ref, topic, event, payload]). Broadcasts come from the stub realtime.send, which
 * records into realtime.sent; they are delivered to sockets joined at that moment, else lost,
 * as real broadcasts are.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface RecordedJoin {
  topic: string;
  url: string;
  payload: { config?: { private?: boolean; broadcast?: unknown }; access_token?: string };
}

export interface FakeSupabase {
  url: string;
  requests: RecordedRequest[];
  joins: RecordedJoin[];
  /** Broadcasts delivered to at least one socket, and those lost because nobody was joined. */
  delivered: Array<{ topic: string; event: string }>;
  lost: Array<{ topic: string; event: string }>;
  /** Cut every Realtime socket and refuse new ones until allowRealtime(). */
  dropRealtime(): void;
  allowRealtime(): void;
  joinedSockets(): number;
  close(): Promise<void>;
}

// PostgREST's mapping of SQLSTATEs to HTTP statuses (the subset these functions raise).
function httpStatus(code: string, role: string): number {
  if (code === "42501") return role === "anon" ? 401 : 403;
  if (code.startsWith("28")) return 403;
  if (code === "P0002") return 404;
  if (code.startsWith("22") || code.startsWith("23")) return code === "23505" ? 409 : 400;
  if (code.startsWith("08") || code.startsWith("57") || code.startsWith("53")) return 503;
  return 400;
}

interface ParamInfo {
  name: string;
  type: string;
}

interface Signature {
  params: ParamInfo[];
  returnsSet: boolean;
  returnsComposite: boolean;
  /** RETURNS TABLE with one column: PostgREST (≥ 8.0.1) still answers objects, [{col: value}]. */
  singleOut: string | null;
  /** STABLE or IMMUTABLE: PostgREST runs a POST to it in a READ ONLY transaction. */
  readOnly: boolean;
}

async function functionSignature(pool: pg.Pool, fn: string): Promise<Signature | undefined> {
  const { rows } = await pool.query<{ retset: boolean; composite: boolean; outs: string[]; readonly: boolean; name: string | null; type: string | null }>(
    `select p.proretset as retset, (t.typtype = 'c') as composite, x.name, format_type(x.type, null) as type,
            p.provolatile in ('s', 'i') as readonly,
            array(select o from unnest(p.proargnames, p.proargmodes) as m(o, mode) where mode in ('o', 't')) as outs
       from pg_proc p
       join pg_namespace n on n.oid = p.pronamespace
       join pg_type t on t.oid = p.prorettype
       left join lateral unnest(p.proargnames[1:p.pronargs], p.proargtypes::oid[]) as x(name, type) on true
      where n.nspname = 'ccm' and p.proname = $1`,
    [fn],
  );
  if (rows.length === 0) return undefined;
  return {
    returnsSet: rows[0]!.retset,
    returnsComposite: rows[0]!.composite,
    singleOut: rows[0]!.outs.length === 1 ? rows[0]!.outs[0]! : null,
    readOnly: rows[0]!.readonly,
    params: rows.filter((r) => r.name).map((r) => ({ name: r.name!, type: r.type! })),
  };
}

export async function startFakeSupabase(options: { pool: pg.Pool; anonKey: string; serviceKey: string }): Promise<FakeSupabase> {
  const requests: RecordedRequest[] = [];
  const joins: RecordedJoin[] = [];
  const delivered: FakeSupabase["delivered"] = [];
  const lost: FakeSupabase["lost"] = [];
  let realtimeAllowed = true;
  const joined = new Map<WebSocket, Set<string>>();

  const roleOf = (key: string | undefined): string | undefined =>
    key === options.anonKey ? "anon" : key === options.serviceKey ? "service_role" : undefined;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const body: unknown = text ? JSON.parse(text) : undefined;
        const path = new URL(req.url ?? "/", "http://x").pathname;
        requests.push({ method: req.method ?? "", path, headers: req.headers, body });
        const send = (status: number, payload: unknown) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(payload));
        };
        const m = /^\/rest\/v1\/rpc\/([a-z_]+)$/.exec(path);
        if (req.method !== "POST" || !m) return send(404, { code: "PGRST125", message: `no route ${req.method} ${path}` });
        const role = roleOf(req.headers.apikey as string | undefined);
        if (!role || req.headers.authorization !== `Bearer ${req.headers.apikey as string}`) {
          return send(401, { code: "PGRST301", message: "invalid api key" });
        }
        if (req.headers["content-profile"] !== "ccm") {
          return send(406, { code: "PGRST106", message: "The schema must be one of the following: ccm" });
        }
        const sig = await functionSignature(options.pool, m[1]!);
        if (!sig) return send(404, { code: "PGRST202", message: `Could not find the function ccm.${m[1]}` });
        const args = (body ?? {}) as Record<string, unknown>;
        const given = sig.params.filter((p) => p.name in args);
        const values = given.map((p) => (/^jsonb?$/.test(p.type) && args[p.name] !== null ? JSON.stringify(args[p.name]) : args[p.name]));
        const call = `ccm.${m[1]}(${given.map((p, i) => `${p.name} => $${i + 1}::${p.type}`).join(", ")})`;
        const client = await options.pool.connect();
        try {
          await client.query(sig.readOnly ? "begin read only" : "begin");
          await client.query(`set local role ${role}`);
          await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ role })]);
          // PostgREST serializes in the database: json_agg for a set, to_json for anything else.
          const sql = sig.returnsSet
            ? `select coalesce(json_agg(${sig.singleOut ? `json_build_object('${sig.singleOut}', _t)` : "_t"}), '[]'::json) as v from ${call} _t`
            : sig.returnsComposite
              ? `select to_json(_t) as v from ${call} _t`
              : `select to_json(${call}) as v`;
          const { rows } = await client.query(sql, values);
          await client.query("commit");
          send(200, (rows[0] as { v: unknown } | undefined)?.v ?? null);
        } catch (err) {
          await client.query("rollback").catch(() => undefined);
          const e = err as { code?: string; message: string };
          send(httpStatus(e.code ?? "", role), { code: e.code ?? "", message: e.message, details: null, hint: null });
        } finally {
          client.release();
        }
      })().catch((err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (!realtimeAllowed || url.pathname !== "/realtime/v1/websocket" || !roleOf(url.searchParams.get("apikey") ?? undefined)) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      joined.set(ws, new Set());
      ws.on("close", () => joined.delete(ws));
      ws.on("message", (raw) => {
        const [joinRef, ref, topic, event, payload] = JSON.parse(raw.toString()) as [string | null, string | null, string, string, unknown];
        const reply = (response: unknown) => ws.send(JSON.stringify([joinRef, ref, topic, "phx_reply", { status: "ok", response }]));
        if (event === "phx_join") {
          joins.push({ topic, url: req.url ?? "", payload: payload as RecordedJoin["payload"] });
          joined.get(ws)?.add(topic);
          reply({ postgres_changes: [] });
        } else if (event === "phx_leave") {
          joined.get(ws)?.delete(topic);
          reply({});
        } else if (event === "heartbeat" || event === "access_token") {
          reply({});
        }
      });
    });
  });

  // Relay what realtime.send recorded, as the Realtime server does from realtime.messages.
  let lastSent = 0;
  let relaying = false;
  const relay = setInterval(() => {
    if (relaying) return;
    relaying = true;
    options.pool
      .query<{ id: string; topic: string; event: string; payload: unknown }>(
        "select id, topic, event, payload from realtime.sent where id > $1 order by id",
        [lastSent],
      )
      .then(({ rows }) => {
        for (const r of rows) {
          lastSent = Number(r.id);
          const wire = `realtime:${r.topic}`;
          const targets = [...joined].filter(([, topics]) => topics.has(wire)).map(([ws]) => ws);
          for (const ws of targets) {
            ws.send(JSON.stringify([null, null, wire, "broadcast", { type: "broadcast", event: r.event, payload: r.payload }]));
          }
          (targets.length > 0 ? delivered : lost).push({ topic: r.topic, event: r.event });
        }
      })
      .catch(() => undefined)
      .finally(() => {
        relaying = false;
      });
  }, 50);

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    joins,
    delivered,
    lost,
    dropRealtime() {
      realtimeAllowed = false;
      for (const ws of joined.keys()) ws.terminate();
      joined.clear();
    },
    allowRealtime() {
      realtimeAllowed = true;
    },
    joinedSockets: () => [...joined.values()].filter((t) => t.size > 0).length,
    async close() {
      clearInterval(relay);
      for (const ws of joined.keys()) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
