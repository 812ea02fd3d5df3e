// Pod manifests for the test node. Bound to the node by spec.nodeName (no
// scheduler runs), no service-account token (no controller-manager creates the
// default ServiceAccount or kube-root-ca.crt), images only from the node's own
// store (imagePullPolicy: Never), and a short grace period because busybox sh as
// PID 1 ignores SIGTERM.
export interface PodSpecOptions {
  name: string;
  namespace: string;
  nodeName: string;
  image: string;
  command?: string[];
  args?: string[];
  /** CPU limit in millicores; sets requests = limits (Guaranteed QoS) with 32Mi memory. */
  cpuMillis?: number;
  port?: number;
}

export interface PodObject {
  apiVersion: "v1";
  kind: "Pod";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

export function podManifest(o: PodSpecOptions): PodObject {
  const resources =
    o.cpuMillis === undefined
      ? {}
      : {
          resources: {
            limits: { cpu: `${String(o.cpuMillis)}m`, memory: "32Mi" },
            requests: { cpu: `${String(o.cpuMillis)}m`, memory: "32Mi" },
          },
        };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: o.name, namespace: o.namespace, labels: { "kernel-gossip/test": "node" } },
    spec: {
      nodeName: o.nodeName,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: "main",
          image: o.image,
          imagePullPolicy: "Never",
          ...(o.command ? { command: o.command } : {}),
          ...(o.args ? { args: o.args } : {}),
          ...(o.port ? { ports: [{ containerPort: o.port }] } : {}),
          ...resources,
        },
      ],
    },
  };
}

/** A busybox pod that prints a marker line, then sleeps. */
export function busyboxPod(
  base: Omit<PodSpecOptions, "command" | "args">,
  marker: string,
): PodObject {
  return podManifest({
    ...base,
    command: ["/bin/sh", "-c", `echo ${marker}; cat /proc/self/cgroup; exec sleep 3600`],
  });
}
