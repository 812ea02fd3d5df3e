// `npm run screenshots` (root; under the host lock when the machine is shared:
// `flock /tmp/kg-host.lock npm run screenshots`): starts the local stack with
// the real kubelet test node (src/local/scenes), plays the scenes — the CLI
// demos' throttle burst, OOM allocator and UDP sender inside pods, iptables
// drops in a pod's netns, pod starts — waits until the kernel's data is in
// Prometheus and the API server, then draws each shipped dashboard and the
// Explore whispers view with the dashboard renderer (Grafana's UI components,
// not a Grafana server; ADR 0080) into docs/screenshots/ at 1920×1080.
// A panel the render checks find wrong (no data, error, unresolved variable,
// missing legend or unit) fails the run: no broken picture is written.
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../local/runtime/binaries.ts";
import { sleep } from "../../local/runtime/process.ts";
import { playScenes, type Scenes } from "../../local/scenes/play.ts";
import { startSceneStack, type SceneStack } from "../../local/scenes/stack.ts";
import { GATEWAY_DS } from "../../shared/grafana/contract.ts";
import { dashboardProblems } from "./dashboard-checks.ts";
import { EXPLORE_PNG, exploreQuery, shots } from "./dashboard-shots.ts";
import { startRenderer, type Renderer } from "./dashboard-render.ts";

const OUT = join(REPO_ROOT, "docs/screenshots");
const log = (l: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${l}`);

async function main() {
  let stack: SceneStack | undefined;
  let scenes: Scenes | undefined;
  let renderer: Renderer | undefined;
  const stop = async () => {
    await renderer?.close().catch(() => undefined);
    await scenes?.stop().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
  };
  process.on("SIGINT", () => void stop().finally(() => process.exit(130)));
  try {
    stack = await startSceneStack({ log });
    scenes = await playScenes(stack, { log });
    await scenes.waitForData(10 * 60_000);
    // A few more minutes of history so the graphs show the workloads, not just their start.
    const settle = Number(process.env.KG_SCREENSHOT_SETTLE_S ?? 120);
    log(`data is there; ${settle} s more history before drawing`);
    await sleep(settle * 1000);
    renderer = await startRenderer(stack.endpoints, { log });
    const drawn = await mkdtemp(join(tmpdir(), "kg-screenshots-"));
    const range = { from: scenes.startedAt - 60_000, to: Date.now() };
    const problems: string[] = [];
    for (const shot of shots(scenes.namespaces)) {
      const path = join(drawn, shot.png);
      const report = await renderer.dashboard(shot.file, {
        ...range,
        variables: shot.variables,
        screenshot: path,
      });
      const found = dashboardProblems(report);
      problems.push(...found);
      log(
        `${shot.png}: ${report.panels.length} panels${found.length ? `, ${found.length} problems` : ""}`,
      );
    }
    const explore = await renderer.explore(GATEWAY_DS.uid, exploreQuery(scenes.namespaces), {
      ...range,
      screenshot: join(drawn, EXPLORE_PNG),
    });
    if (explore.error || explore.errors.length || explore.rows === 0) {
      problems.push(
        `Explore whispers: ${explore.error ?? explore.errors.join("; ")} (${explore.rows} rows)`,
      );
    }
    log(`explore-whispers-logs.png: ${explore.rows} log lines`);
    if (problems.length) {
      throw new Error(
        `the renderer found problems (PNGs left in ${drawn}):\n  ${problems.join("\n  ")}`,
      );
    }
    await mkdir(OUT, { recursive: true });
    const pngs = [...shots(scenes.namespaces).map((s) => s.png), EXPLORE_PNG];
    for (const png of pngs) await copyFile(join(drawn, png), join(OUT, png));
    await rm(drawn, { recursive: true, force: true });
    log(`wrote ${pngs.join(", ")} to ${OUT}`);
  } finally {
    await stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
