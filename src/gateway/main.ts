// Entry point: `node --import tsx src/gateway/main.ts`, configured by the
// environment (see README.md in this folder). Prints the URL on stdout once it
// listens; SIGINT/SIGTERM close the server and the source connections.
import { parseConfig } from "./config.ts";
import { startGateway } from "./gateway.ts";

try {
  const gw = await startGateway(parseConfig());
  console.log(`kernel-gossip gateway listening on ${gw.url}`);
  const stop = () => {
    gw.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (err) {
  console.error(`kernel-gossip gateway: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
