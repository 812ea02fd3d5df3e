// Structured JSON logs (pino, the logger fastify uses), one line per event.
import { pino, type Logger } from "pino";

export type Log = Logger;

export function logger(level = process.env.KG_LOG_LEVEL ?? "info"): Log {
  return pino({ name: "kernel-gossip-operator", level });
}
