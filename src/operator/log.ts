// Structured JSON logs (pino, the logger fastify uses), one line per event.
import { pino, type Logger } from "pino";
import { envReader } from "../shared/config/env.ts";

export type Log = Logger;

/** Level from KG_LOG_LEVEL (or a plain level in KG_LOG); a bad value throws naming it. */
export function logger(level = envReader().logLevel()): Log {
  return pino({ name: "kernel-gossip-operator", level });
}
