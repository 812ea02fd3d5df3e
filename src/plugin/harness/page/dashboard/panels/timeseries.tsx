// Panel type "timeseries": @grafana/ui's TimeSeries (uPlot + PlotLegend).
// Options and field config are declared as Grafana's time series panel
// declares them (public/app/plugins/panel/timeseries: legend and tooltip from
// commonOptionsBuilder, the graph styles with their defaults, palette-classic
// colours). Frames are made graphable as the panel does first: one time field
// and number fields per frame, nulls inserted where a step is missing (so gaps
// stay gaps), non-finite values as null, palette indices across frames.
import {
  FieldColorModeId,
  FieldType,
  PanelPlugin,
  applyNullInsertThreshold,
  cacheFieldDisplayNames,
  fieldReducers,
  formattedValueToString,
  getDisplayProcessor,
  getFieldDisplayName,
  nullToValue,
  reduceField,
  type DataFrame,
  type Field,
  type GrafanaTheme2,
  type PanelProps,
  type TimeRange,
} from "@grafana/data";
import {
  GraphDrawStyle,
  GraphGradientMode,
  LineInterpolation,
  StackingMode,
  VisibilityMode,
  type GraphFieldConfig,
  type OptionsWithLegend,
  type OptionsWithTooltip,
  type VizLegendOptions,
} from "@grafana/schema";
import { TimeSeries, commonOptionsBuilder, graphFieldOptions, useTheme2 } from "@grafana/ui";
import React, { useMemo } from "react";
import { DataErrorView } from "./data-error-view";
import type { PanelType } from "./types";

interface Options extends OptionsWithLegend, OptionsWithTooltip {}

/** Grafana's time series panel: data it can plot, or null (then it shows its data error). */
export function graphable(
  series: DataFrame[],
  theme: GrafanaTheme2,
  range: TimeRange,
): DataFrame[] | null {
  cacheFieldDisplayNames(series);
  const frames: DataFrame[] = [];
  for (const frame of series) {
    const nulled = nullToValue(
      applyNullInsertThreshold({
        frame,
        refFieldPseudoMin: range.from.valueOf(),
        refFieldPseudoMax: range.to.valueOf(),
      }),
    );
    const time = nulled.fields.filter((f) => f.type === FieldType.time);
    const numbers = nulled.fields
      .filter((f) => f.type === FieldType.number)
      .map((f): Field => ({
        ...f,
        values: f.values.map((v: unknown) => (Number.isFinite(v) ? v : null)),
      }));
    if (time.length && numbers.length) {
      frames.push({ ...frame, length: nulled.length, fields: [...time, ...numbers] });
    }
  }
  if (!frames.length) {
    return null;
  }
  let seriesIndex = 0;
  for (const f of frames) {
    for (const field of f.fields) {
      if (field.type === FieldType.number) {
        field.state = { ...field.state, seriesIndex: seriesIndex++ };
        field.display = getDisplayProcessor({ field, theme });
      }
    }
  }
  return frames;
}

function TimeSeriesPanel({
  data,
  timeRange,
  timeZone,
  width,
  height,
  options,
  fieldConfig,
  replaceVariables,
}: PanelProps<Options>) {
  const theme = useTheme2();
  const frames = useMemo(
    () => graphable(data.series, theme, timeRange),
    [data.series, theme, timeRange],
  );
  if (!frames) {
    return <DataErrorView data={data} fieldConfig={fieldConfig} needsTimeField needsNumberField />;
  }
  return (
    <TimeSeries
      frames={frames}
      structureRev={data.structureRev}
      timeRange={timeRange}
      timeZone={timeZone}
      width={width}
      height={height}
      legend={options.legend}
      options={{ ...options, replaceVariables }}
    />
  );
}

const plugin = new PanelPlugin<Options, GraphFieldConfig>(TimeSeriesPanel)
  .useFieldConfig({
    standardOptions: {
      color: { defaultValue: { mode: FieldColorModeId.PaletteClassic } },
    },
    useCustomConfig: (b) => {
      const styles = ["Graph styles"];
      b.addRadio({
        path: "drawStyle",
        name: "Style",
        category: styles,
        defaultValue: GraphDrawStyle.Line,
        settings: { options: graphFieldOptions.drawStyle },
      })
        .addRadio({
          path: "lineInterpolation",
          name: "Line interpolation",
          category: styles,
          defaultValue: LineInterpolation.Linear,
          settings: { options: graphFieldOptions.lineInterpolation },
        })
        .addRadio({
          path: "barAlignment",
          name: "Bar alignment",
          category: styles,
          defaultValue: 0,
          settings: { options: graphFieldOptions.barAlignment },
        })
        .addSliderInput({
          path: "barWidthFactor",
          name: "Bar width factor",
          category: styles,
          defaultValue: 0.6,
        })
        .addSliderInput({
          path: "lineWidth",
          name: "Line width",
          category: styles,
          defaultValue: 1,
        })
        .addSliderInput({
          path: "fillOpacity",
          name: "Fill opacity",
          category: styles,
          defaultValue: 0,
        })
        .addRadio({
          path: "gradientMode",
          name: "Gradient mode",
          category: styles,
          defaultValue: GraphGradientMode.None,
          settings: { options: graphFieldOptions.fillGradient },
        })
        .addBooleanSwitch({
          path: "spanNulls",
          name: "Connect null values",
          category: styles,
          defaultValue: false,
        })
        .addBooleanSwitch({
          path: "insertNulls",
          name: "Disconnect values",
          category: styles,
          defaultValue: false,
        })
        .addRadio({
          path: "showPoints",
          name: "Show points",
          category: styles,
          defaultValue: VisibilityMode.Auto,
          settings: { options: graphFieldOptions.showPoints },
        })
        .addSliderInput({
          path: "pointSize",
          name: "Point size",
          category: styles,
          defaultValue: 5,
        });
      commonOptionsBuilder.addStackingConfig(b, { mode: StackingMode.None, group: "A" }, styles);
      commonOptionsBuilder.addAxisConfig(b, {
        axisGridShow: true,
        axisCenteredZero: false,
        axisBorderShow: false,
      });
      commonOptionsBuilder.addHideFrom(b);
    },
  })
  .setPanelOptions((b) => {
    commonOptionsBuilder.addTooltipOptions(b);
    commonOptionsBuilder.addLegendOptions(b);
  });

export const timeseries: PanelType = {
  id: "timeseries",
  plugin,
  check(frames) {
    if (frames.length && !frames.some((f) => f.fields.some((x) => x.type === FieldType.time))) {
      return ["Data is missing a time field"];
    }
    if (frames.length && !frames.some((f) => f.fields.some((x) => x.type === FieldType.number))) {
      return ["Data is missing a number field"];
    }
    return [];
  },
  expect(frames, options) {
    const legend = options.legend as VizLegendOptions;
    const numbers = frames.flatMap((frame) =>
      frame.fields
        .filter((f) => f.type === FieldType.number)
        .map((field) => ({ name: getFieldDisplayName(field, frame, frames), field })),
    );
    const units = numbers.map(({ name, field }) => ({ field: name, unit: field.config.unit }));
    if (!legend.showLegend) {
      return { names: [], namesOnScreen: 0, values: [], units };
    }
    // In the legend's own order: sorted by a calculation ("Max") when it says so.
    const sortBy = fieldReducers.list().find((r) => r.name === legend.sortBy)?.id;
    const calcs = sortBy ? [...new Set([...legend.calcs, sortBy])] : legend.calcs;
    const rows = numbers.map(({ name, field }) => ({
      name,
      field,
      calc: reduceField({ field, reducers: calcs }),
    }));
    if (sortBy) {
      const key = (r: (typeof rows)[number]) => Number(r.calc[sortBy] ?? -Infinity);
      rows.sort((a, b) => (legend.sortDesc ? key(b) - key(a) : key(a) - key(b)));
    }
    return {
      names: rows.map((r) => r.name),
      // A legend may scroll: it must show enough entries to be read.
      namesOnScreen: Math.min(3, rows.length),
      values: rows.flatMap((r) =>
        legend.calcs.map((c) => ({
          what: `legend ${c} of ${r.name}`,
          anyOf: [formattedValueToString(r.field.display!(r.calc[c]))],
          when: r.name,
        })),
      ),
      units,
    };
  },
};
