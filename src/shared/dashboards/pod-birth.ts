// Pod birth certificate: what the kernel did while a pod started — the
// certificates in the range, the cascade counts of the newest one, and its
// timeline (one frame per certificate) from the gateway's births query.
import {
  bargauge,
  dashboard,
  gateway,
  layout,
  namespaceAndPod,
  stat,
  table,
  unitOf,
} from "./panels.ts";

const filters = { namespace: "$namespace", pod: "$pod" };
const CASCADE = [
  "syscalls",
  "forks",
  "execs",
  "namespacesCreated",
  "cgroupsCreated",
  "cgroupFilesWritten",
];

export const podBirth = () =>
  dashboard(
    {
      uid: "kg-pod-birth",
      title: "Pod birth certificate",
      description:
        "The kernel cascade of pod starts: cgroups and namespaces created, cgroup limit files written, forks, execs and syscalls, in order, with offsets from the start.",
      tags: ["births"],
      time: { from: "now-24h", to: "now" },
      refresh: "",
      templating: {
        list: [...namespaceAndPod()],
      },
      annotations: { list: [] },
      panels: layout([
        [
          table({
            title: "Birth certificates",
            description:
              "PodBirthCertificates whose start lies in the range, newest first: duration of the start and what the kernel did.",
            unit: "short",
            w: 24,
            h: 8,
            targets: [gateway({ refId: "A", queryType: "births", filters })],
            overrides: [unitOf("duration", "s")],
          }),
        ],
        [
          bargauge({
            title: "Kernel cascade (newest certificate)",
            description:
              "Counts of the newest certificate in the range: syscalls, forks, execs, namespaces and cgroups created, cgroup files written.",
            unit: "short",
            w: 16,
            h: 8,
            min: 0,
            targets: [gateway({ refId: "A", queryType: "births", filters })],
            options: {
              reduceOptions: {
                calcs: ["firstNotNull"],
                fields: `/^(${CASCADE.join("|")})$/`,
                values: false,
              },
            },
          }),
          stat({
            title: "Start duration (newest certificate)",
            description: "From the first kernel event of the pod start to the container's exec.",
            unit: "s",
            w: 8,
            h: 8,
            targets: [gateway({ refId: "A", queryType: "births", filters })],
            options: {
              reduceOptions: { calcs: ["firstNotNull"], fields: "/^duration$/", values: false },
            },
          }),
        ],
        [
          table({
            title: "Timeline",
            description:
              "One table per certificate (pick it above the table): each kernel action with its offset from the start in microseconds, actor, detail and pid.",
            unit: "short",
            w: 24,
            h: 12,
            targets: [gateway({ refId: "A", queryType: "births", timeline: true, filters })],
            overrides: [unitOf("offset", "µs")],
          }),
        ],
      ]),
    },
    filters,
  );
