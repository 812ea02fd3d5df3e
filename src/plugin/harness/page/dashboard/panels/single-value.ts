// What stat and bar gauge share, as Grafana's stat/common.ts gives both: the
// "Value options" (reduceOptions: calculate or all values, the calculations,
// which fields), Grafana's orientation option, and @grafana/data's
// getFieldDisplayValues turning frames into the values drawn. The check names
// a field selection that picks nothing numeric, which Grafana would draw as
// "No data" or as a text value.
import {
  FieldType,
  ReducerID,
  formattedValueToString,
  getFieldDisplayName,
  getFieldDisplayValues,
  stringToJsRegex,
  type DataFrame,
  type FieldConfigSource,
  type FieldDisplay,
  type GrafanaTheme2,
  type PanelOptionsEditorBuilder,
} from "@grafana/data";
import { VizOrientation, type ReduceDataOptions } from "@grafana/schema";
import type { Expectations } from "./types";

export interface SingleValueOptions {
  reduceOptions: ReduceDataOptions;
  orientation: VizOrientation;
}

export function addReduceOptions<T extends SingleValueOptions>(b: PanelOptionsEditorBuilder<T>) {
  b.addRadio({
    path: "reduceOptions.values",
    name: "Show",
    defaultValue: false,
    settings: { options: [] },
  })
    .addNumberInput({ path: "reduceOptions.limit", name: "Limit" })
    .addCustomEditor({
      id: "reduceOptions.calcs",
      path: "reduceOptions.calcs",
      name: "Calculation",
      editor: () => null,
      defaultValue: [ReducerID.lastNotNull],
    })
    .addSelect({
      path: "reduceOptions.fields",
      name: "Fields",
      defaultValue: "",
      settings: { options: [] },
    })
    .addRadio({
      path: "orientation",
      name: "Orientation",
      defaultValue: VizOrientation.Auto,
      settings: { options: [] },
    });
}

export function displayValues(
  frames: DataFrame[],
  options: SingleValueOptions,
  fieldConfig: FieldConfigSource,
  theme: GrafanaTheme2,
  sparkline = false,
): FieldDisplay[] {
  return getFieldDisplayValues({
    fieldConfig,
    reduceOptions: options.reduceOptions,
    replaceVariables: (v: string) => v,
    theme,
    data: frames,
    sparkline,
    timeZone: "browser",
  });
}

/** Fields reduceOptions.fields selects: '' = numeric fields, '/re/' by display name, else the name. */
function selected(frames: DataFrame[], fields: string | undefined) {
  const all = frames.flatMap((frame) =>
    frame.fields.filter((f) => f.type !== FieldType.time).map((field) => ({ frame, field })),
  );
  if (!fields) {
    return all.filter(({ field }) => field.type === FieldType.number);
  }
  const re = fields.startsWith("/") ? stringToJsRegex(fields) : undefined;
  return all.filter(({ frame, field }) => {
    const name = getFieldDisplayName(field, frame, frames);
    return re ? re.test(name) : name === fields;
  });
}

export function checkSelection(frames: DataFrame[], options: Record<string, unknown>): string[] {
  if (!frames.some((f) => f.length > 0)) {
    return [];
  }
  const fields = (options as unknown as SingleValueOptions).reduceOptions.fields;
  const picked = selected(frames, fields);
  if (!picked.length) {
    return [`reduceOptions.fields ${JSON.stringify(fields ?? "")} selects no field`];
  }
  return picked
    .filter(({ field }) => field.type !== FieldType.number)
    .map(
      ({ field }) =>
        `reduceOptions.fields picks "${field.name}", a ${field.type} field, not a number`,
    );
}

export function expectValues(values: FieldDisplay[]): Expectations {
  return {
    names: values.map((v) => v.display.title ?? "").filter(Boolean),
    namesOnScreen: values.filter((v) => v.display.title).length,
    values: values.map((v) => ({
      what: `value of ${v.display.title ?? v.name}`,
      anyOf: [formattedValueToString(v.display)],
    })),
    units: values.map((v) => ({ field: v.display.title ?? v.name, unit: v.field.unit })),
  };
}
