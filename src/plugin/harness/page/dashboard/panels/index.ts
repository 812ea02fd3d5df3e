// The panel types the renderer draws, by Grafana's panel type id. A dashboard
// panel of any other type fails the render loudly (never a guess at what
// Grafana would draw). To add a type: a module exporting a PanelType, listed here.
import { bargauge } from "./bargauge";
import { stat } from "./stat";
import { table } from "./table";
import { timeseries } from "./timeseries";
import type { PanelType } from "./types";

const TYPES: PanelType[] = [timeseries, table, stat, bargauge];

export const PANEL_TYPES = new Map(TYPES.map((t) => [t.id, t]));

export function panelType(id: string): PanelType {
  const t = PANEL_TYPES.get(id);
  if (!t) {
    throw new Error(
      `panel type "${id}" is not drawn by the renderer (it draws: ${[...PANEL_TYPES.keys()].join(", ")})`,
    );
  }
  return t;
}
