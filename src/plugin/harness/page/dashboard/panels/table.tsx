// Panel type "table": @grafana/ui's TableNG, the table Grafana 13's table panel
// draws (public/app/plugins/panel/table/table-new). Several frames give a
// frame picker under the table, as Grafana shows it (the first frame unless
// options.frameIndex says otherwise). Field config: the table panel's custom
// options with @grafana/schema's defaults (align auto, cell type auto).
import { css } from "@emotion/css";
import {
  FieldType,
  PanelPlugin,
  cacheFieldDisplayNames,
  formattedValueToString,
  getFieldDisplayName,
  getFrameDisplayName,
  type DataFrame,
  type PanelProps,
} from "@grafana/data";
import {
  TableCellHeight,
  defaultTableFieldOptions,
  type TableFieldOptions,
  type TableSortByFieldState,
} from "@grafana/schema";
import { Select, useTheme2 } from "@grafana/ui";
import { TableNG } from "@grafana/ui/unstable";
import React, { useMemo } from "react";
import { DataErrorView } from "./data-error-view";
import type { PanelType } from "./types";

interface Options {
  showHeader: boolean;
  showTypeIcons?: boolean;
  cellHeight?: TableCellHeight;
  frameIndex: number;
  sortBy?: TableSortByFieldState[];
}

const styles = {
  wrapper: css({
    display: "flex",
    flexDirection: "column",
    justifyContent: "space-between",
    height: "100%",
  }),
  select: css({ padding: "8px 8px 0px 8px" }),
};

const frameIndex = (frames: DataFrame[], o: Options) =>
  o.frameIndex > 0 && o.frameIndex < frames.length ? o.frameIndex : 0;

function TablePanel({ data, width, height, options, fieldConfig, timeRange }: PanelProps<Options>) {
  const theme = useTheme2();
  useMemo(() => cacheFieldDisplayNames(data.series), [data.series]);
  const frames = data.series;
  const current = frameIndex(frames, options);
  const main = frames[current];
  if (!main || !frames.some((f) => f.fields.length > 0)) {
    return <DataErrorView data={data} fieldConfig={fieldConfig} />;
  }
  const pickerHeight =
    frames.length > 1
      ? theme.spacing.gridSize * theme.components.height.md + theme.spacing.gridSize
      : 0;
  const table = (
    <TableNG
      height={height - pickerHeight}
      width={width}
      data={main}
      noHeader={!options.showHeader}
      showTypeIcons={options.showTypeIcons}
      resizable={true}
      sortBy={options.sortBy}
      cellHeight={options.cellHeight}
      timeRange={timeRange}
      fieldConfig={fieldConfig}
      structureRev={data.structureRev}
    />
  );
  if (frames.length === 1) {
    return table;
  }
  const names = frames.map((f, i) => ({ label: getFrameDisplayName(f, i), value: i }));
  return (
    <div className={styles.wrapper}>
      {table}
      <div className={styles.select}>
        <Select options={names} value={names[current]} onChange={() => undefined} />
      </div>
    </div>
  );
}

const plugin = new PanelPlugin<Options, TableFieldOptions>(TablePanel)
  .useFieldConfig({
    useCustomConfig: (b) => {
      b.addNumberInput({
        path: "minWidth",
        name: "Minimum column width",
        defaultValue: defaultTableFieldOptions.minWidth,
      })
        .addNumberInput({
          path: "width",
          name: "Column width",
          defaultValue: defaultTableFieldOptions.width,
        })
        .addRadio({
          path: "align",
          name: "Column alignment",
          defaultValue: defaultTableFieldOptions.align,
          settings: { options: [] },
        })
        .addBooleanSwitch({
          path: "filterable",
          name: "Column filter",
          defaultValue: defaultTableFieldOptions.filterable,
        })
        .addBooleanSwitch({ path: "wrapText", name: "Wrap text" })
        .addBooleanSwitch({ path: "wrapHeaderText", name: "Wrap header text" })
        .addCustomEditor({
          id: "cellOptions",
          path: "cellOptions",
          name: "Cell type",
          editor: () => null,
          override: () => null,
          defaultValue: defaultTableFieldOptions.cellOptions,
          process: (v: unknown) => v,
          shouldApply: () => true,
        })
        .addBooleanSwitch({ path: "inspect", name: "Cell value inspect", defaultValue: false });
    },
  })
  .setPanelOptions((b) => {
    b.addBooleanSwitch({ path: "showHeader", name: "Show table header", defaultValue: true })
      .addRadio({
        path: "cellHeight",
        name: "Cell height",
        defaultValue: TableCellHeight.Sm,
        settings: { options: [] },
      })
      .addNumberInput({ path: "frameIndex", name: "Frame", defaultValue: 0 })
      .addBooleanSwitch({ path: "showTypeIcons", name: "Show type icons", defaultValue: false });
  });

/** The frame the table draws (the others are only named in the picker). */
const shown = (frames: DataFrame[], options: Record<string, unknown>) =>
  frames[frameIndex(frames, options as unknown as Options)];

export const table: PanelType = {
  id: "table",
  plugin,
  // Tables draw any field type; units on the wrong type are caught where overrides are applied.
  check: () => [],
  expect(frames, options) {
    const main = shown(frames, options);
    if (!main) {
      return { names: [], namesOnScreen: 0, values: [], units: [] };
    }
    const visible = main.fields.filter(
      (f) => !f.config.custom?.hidden && !f.config.custom?.hideFrom?.viz,
    );
    // Rows are sorted and virtualised: any of a column's values on screen shows its unit arrived.
    const formatted = (f: (typeof visible)[number]) =>
      f.values
        .slice(0, 200)
        .map((v: unknown) => (f.display ? formattedValueToString(f.display(v)) : String(v)));
    const names = visible.map((f) => getFieldDisplayName(f, main, frames));
    return {
      names,
      namesOnScreen: names.length,
      values: visible
        .filter((f) => f.type === FieldType.number && f.values.length > 0)
        .map((f) => ({
          what: `column ${getFieldDisplayName(f, main, frames)}`,
          anyOf: formatted(f),
        })),
      units: visible
        .filter((f) => f.type === FieldType.number)
        .map((f) => ({ field: getFieldDisplayName(f, main, frames), unit: f.config.unit })),
    };
  },
};
