// `kernel-gossip watch`: a live terminal view — active whispers (the gateway's
// whispers query, re-asked every --interval) above the newest kernel events
// (the observer's /events stream, or the gateway's relay of it). Redraws in
// place on the alternate screen; q or Ctrl+C quits and restores the terminal.
import type { ObserverEvent } from "../../shared/model/observer-events.ts";
import { num, type Args } from "../args.ts";
import { endpoints, needGateway } from "../endpoints.ts";
import { eventText, NOISY_TYPES, observerEvents, workloadName } from "../events.ts";
import { clock } from "../format.ts";
import { stream, whisperRows, type Gateway, type Row } from "../gateway.ts";
import { table } from "../table.ts";
import { whisperColumns } from "./whispers.ts";

const KEEP_EVENTS = 200;

interface View {
  whispers: Row[];
  whisperError?: string;
  whispersAt?: number;
  events: ObserverEvent[];
  eventsFrom: string;
  eventsError?: string;
}

export async function watch(a: Args): Promise<number> {
  const e = endpoints(a);
  const g: Gateway = needGateway(e);
  const intervalMs = num(a, "interval", 1) * 1000;
  const lookbackMs = num(a, "since-minutes", 60) * 60_000;
  const allEvents = a.flags.has("all-events");
  const once = a.flags.has("once");
  const view: View = {
    whispers: [],
    events: [],
    eventsFrom: e.observerUrl
      ? `observer ${e.observerUrl}/events`
      : `gateway ${g.url}/api/v1/stream`,
  };
  const abort = new AbortController();
  // A function, so checks after an await see the current state.
  const stopped = () => abort.signal.aborted;

  const addEvent = (ev: ObserverEvent) => {
    if (!allEvents && NOISY_TYPES.has(ev.type)) return;
    view.events.unshift(ev);
    view.events.length = Math.min(view.events.length, KEEP_EVENTS);
  };
  // Events arrive on their own schedule; reconnect with a pause if the stream drops.
  const follow = async () => {
    while (!stopped()) {
      try {
        if (e.observerUrl) {
          view.events = [];
          await observerEvents(e.observerUrl, addEvent, abort.signal);
        } else {
          await stream(g, ["observer"], (_t, d) => addEvent(d as ObserverEvent), abort.signal);
        }
        view.eventsError = "stream ended; reconnecting";
      } catch (err) {
        if (stopped()) return;
        view.eventsError = message(err);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  const poll = async () => {
    try {
      view.whispers = await whisperRows(g, lookbackMs);
      view.whisperError = undefined;
      view.whispersAt = Date.now();
    } catch (err) {
      view.whisperError = message(err);
    }
  };

  if (once) {
    await poll();
    // A moment for the observer's replay of kept events.
    void follow();
    await new Promise((r) => setTimeout(r, 500));
    abort.abort();
    console.log(render(view, g, lookbackMs, process.stdout.columns || 160, 1000).join("\n"));
    return view.whisperError ? 1 : 0;
  }

  const tty = process.stdout.isTTY;
  const restore = () => {
    if (tty) process.stdout.write("\x1b[?25h\x1b[?1049l");
  };
  if (tty) process.stdout.write("\x1b[?1049h\x1b[?25l");
  const done = new Promise<void>((resolve) => {
    const quit = () => {
      abort.abort();
      resolve();
    };
    process.once("SIGINT", quit);
    process.once("SIGTERM", quit);
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.resume();
      process.stdin.on("data", (d: Buffer) => {
        const k = d.toString();
        if (k === "q" || k === "\x03") quit();
      });
    }
  });
  void follow();
  const draw = () => {
    const lines = render(
      view,
      g,
      lookbackMs,
      process.stdout.columns || 120,
      process.stdout.rows || 40,
    );
    // Home, each line cleared to its end, then clear below: no flicker.
    const out = tty
      ? "\x1b[H" + lines.map((l) => l + "\x1b[K").join("\n") + "\x1b[J"
      : lines.join("\n") + "\n\n";
    process.stdout.write(out);
  };
  const tick = async () => {
    while (!stopped()) {
      await poll();
      draw();
      await Promise.race([
        new Promise((r) => setTimeout(r, intervalMs)),
        new Promise((r) => abort.signal.addEventListener("abort", r, { once: true })),
      ]);
    }
  };
  const ticking = tick();
  await done;
  await ticking;
  restore();
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  process.stdin.pause();
  return 0;
}

function render(v: View, g: Gateway, lookbackMs: number, width: number, height: number): string[] {
  const now = Date.now();
  const active = v.whispers.filter((w) => w.phase !== "Resolved");
  const resolved = v.whispers.length - active.length;
  const out = [
    `kernel-gossip watch · ${clock(now)} UTC · gateway ${g.url} · q to quit`,
    "",
    `WHISPERS  ${active.length} active, ${resolved} resolved in the last ${Math.round(lookbackMs / 60_000)} min` +
      (v.whisperError ? `  ! ${v.whisperError}` : ""),
  ];
  // Active first, newest first within each phase (the gateway sorts by lastSeen).
  const ordered = [...active, ...v.whispers.filter((w) => w.phase === "Resolved")];
  const room = Math.max(3, Math.floor((height - 8) / 2));
  const shown = ordered.slice(0, room);
  out.push(...table(shown, whisperColumns(now), width));
  if (ordered.length > shown.length) out.push(`… ${ordered.length - shown.length} more`);
  if (!ordered.length) out.push("(none yet — try `kernel-gossip demo throttle` in another shell)");
  out.push(
    "",
    `KERNEL EVENTS  newest first, from ${v.eventsFrom}` +
      (v.eventsError ? `  ! ${v.eventsError}` : ""),
  );
  const evRoom = Math.max(3, height - out.length - 2);
  out.push(
    ...table(
      v.events.slice(0, evRoom),
      [
        { header: "TIME", cell: (e) => clock(e.tsUnixMs) },
        { header: "NODE", cell: (e) => e.node },
        { header: "TYPE", cell: (e) => e.type },
        { header: "WORKLOAD", cell: (e) => workloadName(e.workload), flex: true },
        { header: "WHAT THE KERNEL SAID", cell: eventText, flex: true },
      ],
      width,
    ),
  );
  if (!v.events.length) out.push("(no kernel events yet)");
  return out.slice(0, Math.max(height - 1, 1));
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
