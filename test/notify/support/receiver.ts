import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the receiver saw it. */
export interface Received {
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  /** Form fields (Slack's client posts x-www-form-urlencoded) or the JSON body (PagerDuty). */
  body: Record<string, unknown>;
  /** The HTTP status we answered. */
  status: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/**
 * A local stand-in for Slack's Web API and PagerDuty's Events API on 127.0.0.1: records every request,
 * answers like the real service, and can be scripted (429, 500) or taken down and brought back up.
 */
export class Receiver {
  readonly requests: Received[] = [];
  /** Return a Reply to override the default answer for this request. */
  script: ((req: Omit<Received, "status">, index: number) => Reply | undefined) | undefined;
  private server: http.Server;
  private sockets = new Set<import("node:net").Socket>();
  private tsCounter = 0;
  port = 0;

  constructor() {
    this.server = this.createServer();
  }

  private createServer(): http.Server {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const type = req.headers["content-type"] ?? "";
        let body: Record<string, unknown> = {};
        if (type.includes("application/json")) body = JSON.parse(raw || "{}") as Record<string, unknown>;
        else body = Object.fromEntries(new URLSearchParams(raw));
        for (const k of ["blocks"]) if (typeof body[k] === "string") body[k] = JSON.parse(body[k] as string);
        const seen = { at: Date.now(), method: req.method ?? "", path: req.url ?? "", headers: req.headers, raw, body };
        const reply = this.script?.(seen, this.requests.length) ?? this.defaultReply(seen);
        this.requests.push({ ...seen, status: reply.status });
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
        res.end(JSON.stringify(reply.body));
      });
    });
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    return server;
  }

  private defaultReply(req: Omit<Received, "status">): Reply {
    if (req.path.endsWith("/chat.postMessage")) {
      this.tsCounter += 1;
      const ts = `1700000000.${String(this.tsCounter).padStart(6, "0")}`;
      return { status: 200, body: { ok: true, channel: `C-${String(req.body.channel)}`, ts, message: { ts } } };
    }
    if (req.path.endsWith("/chat.update")) {
      return { status: 200, body: { ok: true, channel: req.body.channel, ts: req.body.ts } };
    }
    if (req.path === "/v2/enqueue") {
      return { status: 202, body: { status: "success", message: "Event processed", dedup_key: req.body.dedup_key } };
    }
    return { status: 404, body: { error: "unknown path" } };
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stop listening (connections are refused) until up(). */
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async up(): Promise<void> {
    this.server = this.createServer();
    await this.start(this.port);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Requests answered 2xx to a path ending with `suffix`. */
  accepted(suffix: string): Received[] {
    return this.requests.filter((r) => r.path.endsWith(suffix) && r.status >= 200 && r.status < 300);
  }
}
