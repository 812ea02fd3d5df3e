// What an observer holds: GET /events?since=0&follow=false returns its replay
// buffer (the last 2048 events) and ends (ADR 0075). Lines are validated with
// the same schema as the live stream; a slow or absent observer costs at most
// the timeout, never the webhook.
import { Value } from "@sinclair/typebox/value";
import { ObserverEventSchema, type ObserverEvent } from "../../shared/model/observer-events.ts";

export interface Replay {
  url: string;
  events: ObserverEvent[];
}

export async function fetchReplay(url: string, timeoutMs: number): Promise<Replay> {
  const res = await fetch(`${url}/events?since=0&follow=false`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`GET ${url}/events: HTTP ${res.status}`);
  const events: ObserverEvent[] = [];
  for (const line of (await res.text()).split("\n")) {
    if (!line.trim()) continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (Value.Check(ObserverEventSchema, parsed)) events.push(parsed);
    } catch {
      // a malformed line is skipped here as on the live stream
    }
  }
  return { url, events };
}
