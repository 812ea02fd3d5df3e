// A TCP proxy on loopback that a test can pause: while paused, bytes in both
// directions are held instead of forwarded, as on a network path that stalls
// (the connections stay open, nothing arrives). A client that gives up and
// closes its connection while paused loses what it had sent — as with a TCP
// reset — so only requests whose clients are still waiting are delivered on
// resume. Used in front of kube-apiserver to stall one operator replica.
//
//   const proxy = await stallProxy(new URL(cluster.server));
//   … point a kubeconfig at proxy.url …
//   proxy.pause(); … proxy.resume(); await proxy.stop();
import { readFile, writeFile } from "node:fs/promises";
import { createServer, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface StallProxy {
  /** "https://127.0.0.1:<port>" for an https target. */
  url: string;
  port: number;
  pause: () => void;
  resume: () => void;
  paused: () => boolean;
  /** Connections closed by their client while paused, and the bytes they had queued. */
  dropped: () => { connections: number; bytes: number };
  stop: () => Promise<void>;
}

interface Pipe {
  client: Socket;
  upstream: Socket;
  toUpstream: Buffer[];
  toClient: Buffer[];
}

export async function stallProxy(target: URL): Promise<StallProxy> {
  const host = target.hostname.replace(/^\[|\]$/g, "");
  const port = Number(target.port || (target.protocol === "https:" ? 443 : 80));
  let paused = false;
  const pipes = new Set<Pipe>();
  const dropped = { connections: 0, bytes: 0 };

  const flush = (p: Pipe) => {
    for (const b of p.toUpstream.splice(0)) p.upstream.write(b);
    for (const b of p.toClient.splice(0)) p.client.write(b);
  };

  const server = createServer((client) => {
    const upstream = connect({ host, port });
    const p: Pipe = { client, upstream, toUpstream: [], toClient: [] };
    pipes.add(p);
    const close = () => {
      if (!pipes.delete(p)) return;
      const held = p.toUpstream.reduce((n, b) => n + b.length, 0);
      if (paused && held > 0) {
        dropped.connections++;
        dropped.bytes += held;
      }
      p.toUpstream.length = 0;
      p.toClient.length = 0;
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (b: Buffer) => {
      if (paused) p.toUpstream.push(b);
      else upstream.write(b);
    });
    upstream.on("data", (b: Buffer) => {
      if (paused) p.toClient.push(b);
      else client.write(b);
    });
    for (const s of [client, upstream]) {
      s.on("error", close);
      s.on("close", close);
      s.on("end", close);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr !== "object") throw new Error("stall proxy: no port");
  return {
    url: `${target.protocol}//127.0.0.1:${addr.port}`,
    port: addr.port,
    pause: () => (paused = true),
    resume: () => {
      paused = false;
      for (const p of pipes) flush(p);
    },
    paused: () => paused,
    dropped: () => ({ ...dropped }),
    stop: async () => {
      for (const p of pipes) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pipes.clear();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A copy of `kubeconfig` whose cluster server is `server` (e.g. a proxy's URL),
 * in the temp dir; the caller removes it.
 */
export async function kubeconfigVia(kubeconfig: string, server: string, name: string) {
  const text = await readFile(kubeconfig, "utf8");
  const path = join(tmpdir(), `kernel-gossip-kubeconfig-${name}-${process.pid}`);
  await writeFile(path, text.replace(/^(\s*server:\s*).*$/m, `$1${server}`), { mode: 0o600 });
  return path;
}
