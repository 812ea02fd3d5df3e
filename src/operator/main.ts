// kernel-gossip operator: `node --import tsx src/operator/main.ts`.
// Configuration from KG_CONFIG and KG_* variables (see README.md beside this file).
import { loadConfig } from "./config.ts";
import { logger } from "./log.ts";
import { startOperator } from "./operator.ts";

const log = logger();
try {
  const op = await startOperator(loadConfig(), log);
  console.log(
    `operator: ${op.url} (webhooks: ${op.url}/webhooks/grafana, ${op.url}/webhooks/alertmanager)`,
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    void op.stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
} catch (err) {
  log.fatal({ err: err instanceof Error ? err.message : String(err) }, "operator failed to start");
  process.exit(1);
}
