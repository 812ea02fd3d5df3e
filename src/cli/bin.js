#!/usr/bin/env node
// npm bin entry for `kernel-gossip`: registers the TypeScript loader (tsx),
// resolved from this package rather than the caller's directory, then runs
// the CLI. Equivalent to `node --import tsx src/cli/main.ts`.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
