// Every provisioned dashboard, by file name under dashboards/.
import { kernelTruth } from "./kernel-truth.ts";
import { metricsLie } from "./metrics-lie.ts";
import { networkDrops } from "./network-drops.ts";
import { podBirth } from "./pod-birth.ts";

export const DASHBOARDS: Record<string, () => ReturnType<typeof kernelTruth>> = {
  "kernel-truth-overview.json": kernelTruth,
  "metrics-lie.json": metricsLie,
  "pod-birth-certificate.json": podBirth,
  "network-drops.json": networkDrops,
};
