// Whispers from Pixie's numbers (ADR 0027): every KG_PIXIE_WHISPER_EVERY the
// gateway sums, per pod, the increase of each OTLP-fed metric the manifest ties
// to a whisper signal over the last KG_PIXIE_WHISPER_WINDOW, and posts the
// pods with a non-zero increase and new points to the operator's
// /webhooks/pixie in the alert-webhook shape the operator already reads. The
// operator grades severity and writes the KernelWhisper (source: pixie), as
// for any alert; the gateway only reports what Pixie measured.
import { SIGNALS, type Signal } from "../../shared/model/kernel-whisper.ts";
import type { WhisperForwardConfig } from "../config.ts";
import { counterDelta } from "../series-math.ts";
import type { OtlpSignal } from "./signals.ts";
import type { OtlpStore } from "./store.ts";

const ALERT_NAME: Partial<Record<Signal, string>> = {
  "packet-drops": "PixiePodPacketDrops",
  "tcp-retransmits": "PixiePodTcpRetransmits",
};

export interface Finding {
  signal: Signal;
  namespace: string;
  pod: string;
  increase: number;
  lastMs: number;
}

/** Per (signal, pod): the summed counter increase over (now - window, now]. */
export function findings(
  catalogue: ReadonlyMap<string, OtlpSignal>,
  store: OtlpStore,
  nowMs: number,
  windowMs: number,
): Finding[] {
  const out = new Map<string, Finding>();
  for (const [signal, def] of catalogue) {
    if (!SIGNALS.includes(signal as Signal)) continue;
    for (const s of store.samples([def.metric.name], {}, nowMs - windowMs, nowMs)) {
      const { namespace, pod } = s.labels;
      if (!namespace || !pod) continue;
      const d = counterDelta(s, nowMs - windowMs, nowMs);
      if (!d) continue;
      const key = `${signal}\u0000${namespace}\u0000${pod}`;
      const f = out.get(key) ?? {
        signal: signal as Signal,
        namespace,
        pod,
        increase: 0,
        lastMs: 0,
      };
      f.increase += d.delta;
      f.lastMs = Math.max(f.lastMs, d.lastMs);
      out.set(key, f);
    }
  }
  return [...out.values()];
}

export function startWhisperForwarder(opts: {
  cfg: WhisperForwardConfig;
  catalogue: ReadonlyMap<string, OtlpSignal>;
  store: OtlpStore;
  onOutcome: (outcome: "sent" | "failed") => void;
  log: (msg: string) => void;
}) {
  const { cfg } = opts;
  // A pod is forwarded again only when it has points newer than the last forward.
  const sentUpTo = new Map<string, number>();
  let running = false;
  async function tick() {
    if (running) return;
    running = true;
    try {
      const now = Date.now();
      const fresh = findings(opts.catalogue, opts.store, now, cfg.windowMs).filter(
        (f) =>
          f.increase > 0 && f.lastMs > (sentUpTo.get(`${f.signal}/${f.namespace}/${f.pod}`) ?? 0),
      );
      if (!fresh.length) return;
      const body = {
        receiver: "kernel-gossip-gateway",
        status: "firing",
        version: "4",
        alerts: fresh.map((f) => ({
          status: "firing",
          labels: {
            alertname: ALERT_NAME[f.signal] ?? "PixieFinding",
            kernel_gossip_signal: f.signal,
            namespace: f.namespace,
            pod: f.pod,
          },
          annotations: {
            kernel_gossip_value: String(f.increase),
            kernel_gossip_window: `${Math.round(cfg.windowMs / 1000)}s`,
            summary: `Pixie saw ${f.increase} for ${f.namespace}/${f.pod} (${f.signal}) over ${Math.round(cfg.windowMs / 1000)} s`,
          },
          startsAt: new Date(f.lastMs).toISOString(),
        })),
      };
      const res = await fetch(`${cfg.operatorUrl}/webhooks/pixie`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(cfg.token ? { authorization: `Bearer ${cfg.token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok)
        throw new Error(`operator answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      for (const f of fresh) sentUpTo.set(`${f.signal}/${f.namespace}/${f.pod}`, f.lastMs);
      opts.onOutcome("sent");
    } catch (err) {
      opts.onOutcome("failed");
      opts.log(`forwarding Pixie findings failed: ${(err as Error).message}`);
    } finally {
      running = false;
    }
  }
  const timer = setInterval(() => void tick(), cfg.everyMs);
  timer.unref();
  return { tick, stop: () => clearInterval(timer) };
}
