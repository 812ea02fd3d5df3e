// Pod birth certificate: what the kernel did while a pod started — the
// certificates in the range, the cascade counts of the newest one, and that
// start step by step: its milestones in time order (cgroups and namespaces
// made or joined, container entrypoints), and every step counted by kind in
// the order each kind first happened. From the gateway's births query (the
// first frame is the certificates table, then one timeline per certificate,
// newest first).
import {
  bargauge,
  columns,
  dashboard,
  fieldOf,
  gateway,
  layout,
  namespaceAndPod,
  oneColor,
  stat,
  table,
} from "./panels.ts";

const filters = { namespace: "$namespace", pod: "$pod" };
/** The certificate's counts, and the names the bars show (the bar gauge selects fields by shown name). */
const CASCADE: [field: string, label: string][] = [
  ["syscalls", "syscalls"],
  ["forks", "forks"],
  ["execs", "execs"],
  ["namespacesCreated", "namespaces created"],
  ["cgroupsCreated", "cgroups created"],
  ["cgroupFilesWritten", "cgroup files written"],
];
const births = gateway({ refId: "A", queryType: "births", filters });
const timelines = gateway({ refId: "A", queryType: "births", timeline: true, filters });
/** Transformations for the timeline frames only (named "<namespace>/<pod> birth"). */
const onTimelines = { id: "byName", options: "/ birth$/" };
const MILESTONES = "^(cgroup-created|namespace-created|namespace-joined|entrypoint-exec)$";

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
              "PodBirthCertificates whose start lies in the range, newest first: how long the start took and what the kernel did.",
            unit: "short",
            w: 24,
            h: 4,
            targets: [births],
            transformations: columns([
              ["startTime", "started"],
              ["namespace"],
              ["pod"],
              ["phase"],
              ["duration"],
              ["syscalls"],
              ["forks"],
              ["execs"],
              ["namespacesCreated", "namespaces created"],
              ["cgroupsCreated", "cgroups created"],
              ["cgroupFilesWritten", "cgroup files written"],
            ]),
            overrides: [fieldOf("duration", { unit: "s" })],
          }),
        ],
        [
          bargauge({
            title: "Kernel cascade (newest certificate)",
            description:
              "Counts of the newest certificate in the range: syscalls, forks, execs, namespaces and cgroups created, cgroup files written.",
            unit: "short",
            w: 16,
            h: 6,
            min: 0,
            thresholds: oneColor("blue"),
            targets: [births],
            overrides: CASCADE.filter(([f, l]) => f !== l).map(([f, l]) =>
              fieldOf(f, { displayName: l }),
            ),
            options: {
              reduceOptions: {
                calcs: ["firstNotNull"],
                fields: `/^(${CASCADE.map(([, l]) => l).join("|")})$/`,
                values: false,
              },
              // One line per count: six bars fit the panel's height.
              namePlacement: "left",
            },
          }),
          stat({
            title: "Start duration (newest certificate)",
            description:
              "From the first kernel event of the pod start to the last container's entrypoint exec.",
            unit: "s",
            w: 8,
            h: 6,
            thresholds: oneColor("blue"),
            targets: [births],
            options: {
              reduceOptions: { calcs: ["firstNotNull"], fields: "/^duration$/", values: false },
              textMode: "value",
              graphMode: "none",
            },
          }),
        ],
        [
          table({
            title: "Pod start, step by step (newest certificate)",
            description:
              "The milestones of the newest start in time order, from its first kernel event: cgroups created (kubelet's pod cgroup, runc's container cgroups), namespaces created or joined, and each container's entrypoint exec.",
            unit: "short",
            w: 14,
            h: 14,
            targets: [timelines],
            transformations: [
              {
                id: "filterByValue",
                filter: onTimelines,
                options: {
                  type: "include",
                  match: "any",
                  filters: [
                    {
                      fieldName: "action",
                      config: { id: "regex", options: { value: MILESTONES } },
                    },
                  ],
                },
              },
              // Renamed even where the name stays: several frames would prefix their name.
              ...columns(
                [
                  ["offset", "at"],
                  ["actor", "by"],
                  ["action", "step"],
                  ["detail", "detail"],
                ],
                onTimelines,
              ),
            ],
            overrides: [
              fieldOf("at", { unit: "µs", "custom.width": 90 }),
              fieldOf("by", { "custom.width": 90 }),
              fieldOf("step", { "custom.width": 150 }),
            ],
            // Frame 0 is the certificates table; 1 is the newest certificate's timeline.
            options: { frameIndex: 1 },
          }),
          table({
            title: "Every step of that start, by kind",
            description:
              "All steps of the newest start's timeline grouped by who did what, in the order each kind first happened: how many, and when the first and the last one were.",
            unit: "short",
            w: 10,
            h: 14,
            targets: [timelines],
            transformations: [
              {
                id: "groupBy",
                filter: onTimelines,
                options: {
                  fields: {
                    actor: { operation: "groupby", aggregations: [] },
                    action: { operation: "groupby", aggregations: [] },
                    offset: { operation: "aggregate", aggregations: ["min", "max", "count"] },
                  },
                },
              },
              // groupBy's frames have no name: the rest applies to all frames (the
              // certificates table, frame 0, is not the one shown).
              { id: "sortBy", options: { sort: [{ field: "offset (min)" }] } },
              ...columns([
                ["actor", "by"],
                ["action", "step"],
                ["offset (count)", "steps"],
                ["offset (min)", "first"],
                ["offset (max)", "last"],
              ]),
            ],
            overrides: [
              fieldOf("first", { unit: "µs" }),
              fieldOf("last", { unit: "µs" }),
              fieldOf("steps", { unit: "short" }),
            ],
            options: { frameIndex: 1 },
          }),
        ],
      ]),
    },
    filters,
  );
