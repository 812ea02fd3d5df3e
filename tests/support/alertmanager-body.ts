// The Alertmanager webhook body (version 4) the operator's tests and the
// webhook benchmark send: one firing alert with the given labels. No imports,
// so the benchmark's load process stays light.

/** An Alertmanager webhook body carrying one firing alert. */
export const alertmanagerBody = (
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
  extra: Record<string, string> = {},
) => ({
  receiver: "kg",
  status: "firing",
  version: "4",
  alerts: [{ status: "firing", labels, annotations, ...extra }],
});

/** The whole body Alertmanager 0.2x posts (webhook version 4) for one firing alert:
 * group fields, times and fingerprint as Alertmanager fills them. */
export const alertmanagerFullBody = (
  labels: Record<string, string>,
  annotations: Record<string, string>,
  fingerprint: string,
) => ({
  receiver: "kernel-gossip",
  status: "firing",
  alerts: [
    {
      status: "firing",
      labels,
      annotations,
      startsAt: new Date().toISOString(),
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus.local/graph",
      fingerprint,
    },
  ],
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: "http://alertmanager.local",
  version: "4",
  groupKey: "{}:{}",
  truncatedAlerts: 0,
});
