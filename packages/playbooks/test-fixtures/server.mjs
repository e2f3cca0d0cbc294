/* global process, console, URL, Buffer */
// The "service" of the fake service manager: answers /healthz on its port; mode "crash" exits at once.
import http from "node:http";
const [port, mode] = process.argv.slice(2);
if (mode === "crash") {
  console.log("fatal: config file missing, exiting");
  process.exit(1);
}
// /leak?mb=N keeps N MiB resident (high-memory tests); /spin busies one core in a worker thread (high-cpu tests).
const kept = [];
http.createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname === "/leak") kept.push(Buffer.alloc(Number(url.searchParams.get("mb") ?? 1) * 1024 * 1024, 1));
  // Imported here so "crash" mode starts exactly as before.
  if (url.pathname === "/spin") new (await import("node:worker_threads")).Worker("for (;;) {}", { eval: true });
  res.writeHead(["/healthz", "/leak", "/spin"].includes(url.pathname) ? 200 : 404).end("ok");
}).listen(Number(port), "127.0.0.1", () => console.log(`listening on ${port}`));
