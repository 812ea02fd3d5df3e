// The shipped dashboards as a presenter shows them: which variables to pick in
// the scenes' namespaces (src/local/scenes), and the PNG each becomes. One list
// for `npm run screenshots` and the render test (dashboards.test.ts).
import type { SceneNamespaces } from "../../local/scenes/play.ts";

export interface Shot {
  file: string;
  png: string;
  /** `var-<name>` values of a Grafana URL. */
  variables: Record<string, string[]>;
}

export const shots = ({ shop, batch }: SceneNamespaces): Shot[] => [
  {
    file: "kernel-truth-overview.json",
    png: "dashboard-kernel-truth-overview.png",
    variables: { namespace: [shop, batch] },
  },
  {
    // The throttled container, whose average looks fine.
    file: "metrics-lie.json",
    png: "dashboard-metrics-lie.png",
    variables: { namespace: [shop], pod: ["checkout"] },
  },
  {
    // The pod started last.
    file: "pod-birth-certificate.json",
    png: "dashboard-pod-birth-certificate.png",
    variables: { namespace: [shop], pod: ["web"] },
  },
  {
    file: "network-drops.json",
    png: "dashboard-network-drops.png",
    variables: { namespace: [shop] },
  },
];

/** The Explore view: the whispers of the scenes' namespaces as log lines. */
export const exploreQuery = ({ shop, batch }: SceneNamespaces) => ({
  refId: "A",
  queryType: "whispers",
  filters: { namespace: `${shop},${batch}` },
});
export const EXPLORE_PNG = "explore-whispers-logs.png";
