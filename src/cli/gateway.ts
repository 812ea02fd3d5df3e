// The gateway as the CLI uses it: POST /api/v1/query answers are data frames
// (columns); rows() turns one frame into records. Everything shown comes from
// these answers — the CLI computes nothing but ages.
export interface FrameField {
  name: string;
  values: unknown[];
}
interface Frame {
  fields: FrameField[];
  length: number;
}
interface QueryAnswer {
  results: Record<string, { status: number; frames: Frame[]; error?: string }>;
}

export type Row = Record<string, unknown>;

export function rows(frame: Frame | undefined): Row[] {
  if (!frame) return [];
  const out: Row[] = [];
  for (let i = 0; i < frame.length; i++) {
    const r: Row = {};
    for (const f of frame.fields) r[f.name] = f.values[i];
    out.push(r);
  }
  return out;
}

export interface Gateway {
  url: string;
  token: string | undefined;
}

const headers = (g: Gateway): Record<string, string> => ({
  "content-type": "application/json",
  ...(g.token ? { authorization: `Bearer ${g.token}` } : {}),
});

/** One query's first frame as rows; throws with the gateway's own message on failure. */
export async function queryRows(
  g: Gateway,
  query: Record<string, unknown>,
  timeoutMs = 5_000,
): Promise<Row[]> {
  const res = await fetch(`${g.url}/api/v1/query`, {
    method: "POST",
    headers: headers(g),
    body: JSON.stringify({ queries: [{ refId: "A", ...query }] }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`gateway ${res.status}: ${await res.text()}`);
  const answer = (await res.json()) as QueryAnswer;
  const r = answer.results.A;
  if (!r) throw new Error("gateway answered without result A");
  if (r.status !== 200) throw new Error(`gateway query ${r.status}: ${r.error ?? ""}`);
  return rows(r.frames[0]);
}

export const range = (lookbackMs: number) => {
  const now = Date.now();
  // A little ahead so a whisper written this second is inside the range.
  return { from: now - lookbackMs, to: now + 60_000 };
};

/** KernelWhispers seen in the last `lookbackMs`, newest first (the gateway's order). */
export const whisperRows = (g: Gateway, lookbackMs: number) =>
  queryRows(g, { type: "whispers", range: range(lookbackMs) });

export const birthRows = (g: Gateway, lookbackMs: number) =>
  queryRows(g, { type: "births", range: range(lookbackMs) });

/**
 * Server-Sent Events from GET /api/v1/stream until `signal` aborts; calls
 * `onEvent(event, data)` per message. Resolves when the stream ends.
 */
export async function stream(
  g: Gateway,
  types: string[],
  onEvent: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  const q = types.map((t) => `types=${t}`).join("&");
  const res = await fetch(`${g.url}/api/v1/stream?${q}`, { headers: headers(g), signal });
  if (!res.ok || !res.body) throw new Error(`gateway stream ${res.status}`);
  let buf = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) onEvent(event, JSON.parse(data));
    }
  }
}
