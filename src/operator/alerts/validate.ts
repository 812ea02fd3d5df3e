// Validation at the door (ADR 0075): alert labels that name Kubernetes objects
// must be names Kubernetes accepts, or the whisper write would fail after the
// webhook had already answered 2xx — and neither Grafana nor Alertmanager
// retries a 2xx. A bad value gets a 400 naming the field instead, before
// anything is recorded.

/** DNS-1123 label (namespaces, container names): at most 63 of a-z, 0-9, '-'. */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** DNS-1123 subdomain (pods, nodes): at most 253, dot-separated labels. */
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Control characters (incl. NUL and newlines) never occur in a cgroup path or a kernel name.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

type Check = (value: string) => string | undefined;

const dnsLabel: Check = (v) =>
  v.length <= 63 && LABEL.test(v)
    ? undefined
    : "is not a Kubernetes name (DNS-1123 label: at most 63 characters of a-z, 0-9 and '-', starting and ending alphanumeric)";

const dnsSubdomain: Check = (v) =>
  v.length <= 253 && SUBDOMAIN.test(v)
    ? undefined
    : "is not a Kubernetes name (DNS-1123 subdomain: at most 253 characters of a-z, 0-9, '-' and '.', starting and ending alphanumeric)";

const cgroupPath: Check = (v) =>
  v.startsWith("/") && v.length <= 4096 && !CONTROL.test(v)
    ? undefined
    : "is not a cgroup path (starts with '/', at most 4096 characters, no control characters)";

const shortText =
  (max: number): Check =>
  (v) =>
    v.length >= 1 && v.length <= max && !CONTROL.test(v)
      ? undefined
      : `must be 1 to ${max} characters without control characters`;

/** The labels the operator turns into a whisper's subject or identity, and their rules. */
const CHECKS: Record<string, Check> = {
  namespace: dnsLabel,
  pod: dnsSubdomain,
  container: dnsLabel,
  node: dnsSubdomain,
  cgroup: cgroupPath,
  reason: shortText(256),
  alertname: shortText(256),
};

/**
 * The first label value that cannot be used, as "labels.<name>: <why>"
 * (the caller prefixes the alert's position); undefined when all are usable.
 */
export function invalidLabel(labels: Record<string, string>): string | undefined {
  for (const [name, check] of Object.entries(CHECKS)) {
    const value = labels[name];
    if (value === undefined) continue;
    const why = check(value);
    if (why) {
      const shown =
        value.length > 64 ? `${value.slice(0, 64)}… (${value.length} characters)` : value;
      return `labels.${name} ${JSON.stringify(shown)} ${why}`;
    }
  }
  return undefined;
}
