// What the renderer knows about one panel type: the PanelPlugin (options and
// field config declared with @grafana/data's builders, with the defaults of
// Grafana's own panel of that type; its `panel` component draws with
// @grafana/ui), what the type needs from its frames, and what a viewer must
// then see. Adding a panel type = one module exporting a PanelType, listed in
// ./index.ts.
import type { DataFrame, FieldConfigSource, PanelPlugin } from "@grafana/data";

export interface Expectations {
  /** Names the drawn panel shows: legend entries, column headers, value titles. */
  names: string[];
  /**
   * How many of `names` must be on screen: all of them, except in a legend that may
   * scroll (then enough to read it, in the legend's own order).
   */
  namesOnScreen: number;
  /**
   * Values formatted with their field's unit that the drawn panel shows: one of `anyOf`
   * per entry; `when` names the legend entry it belongs to (checked if that is on screen).
   */
  values: Array<{ what: string; anyOf: string[]; when?: string }>;
  /** Unit of every number field drawn (undefined = no unit: a problem). */
  units: Array<{ field: string; unit: string | undefined }>;
}

export interface PanelType {
  id: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  plugin: PanelPlugin<any, any>;
  /** Data this type cannot draw as configured: wrong field types, a reducer that selects nothing. */
  check(frames: DataFrame[], options: Record<string, unknown>): string[];
  /** What must be on screen, derived from the frames after transformations and field config. */
  expect(
    frames: DataFrame[],
    options: Record<string, unknown>,
    fieldConfig: FieldConfigSource,
  ): Expectations;
}
