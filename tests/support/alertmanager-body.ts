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
