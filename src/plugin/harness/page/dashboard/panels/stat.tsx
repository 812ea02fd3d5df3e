// Panel type "stat": @grafana/ui's BigValue in a VizRepeater, one per value from
// getFieldDisplayValues, as Grafana's stat panel draws it; options and their
// defaults from @grafana/schema's stat panel config (color by value, area
// sparkline, text auto, wide layout) plus the shared value options.
import {
  PanelPlugin,
  createTheme,
  getDisplayValueAlignmentFactors,
  type DisplayValueAlignmentFactors,
  type FieldDisplay,
  type PanelProps,
} from "@grafana/data";
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueJustifyMode,
  BigValueTextMode,
  type VizTextDisplayOptions,
} from "@grafana/schema";
import { BigValue, VizRepeater, useTheme2, type VizRepeaterRenderValueProps } from "@grafana/ui";
import { defaultOptions } from "@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen";
import React from "react";
import {
  addReduceOptions,
  checkSelection,
  displayValues,
  expectValues,
  type SingleValueOptions,
} from "./single-value";
import type { PanelType } from "./types";

interface Options extends SingleValueOptions {
  colorMode: BigValueColorMode;
  graphMode: BigValueGraphMode;
  justifyMode: BigValueJustifyMode;
  textMode: BigValueTextMode;
  wideLayout: boolean;
  text?: VizTextDisplayOptions;
}

function StatPanel({
  data,
  width,
  height,
  options,
  fieldConfig,
  timeRange,
  renderCounter,
}: PanelProps<Options>) {
  const theme = useTheme2();
  const render = ({
    value,
    alignmentFactors,
    width: w,
    height: h,
    count,
  }: VizRepeaterRenderValueProps<FieldDisplay, DisplayValueAlignmentFactors>) => (
    <BigValue
      value={value.display}
      count={count}
      sparkline={value.sparkline ? { ...value.sparkline, timeRange } : undefined}
      colorMode={options.colorMode}
      graphMode={options.graphMode}
      justifyMode={options.justifyMode}
      textMode={options.textMode}
      alignmentFactors={alignmentFactors}
      text={options.text}
      width={w}
      height={h}
      theme={theme}
      disableWideLayout={!options.wideLayout}
    />
  );
  return (
    <VizRepeater
      getValues={() =>
        displayValues(
          data.series,
          options,
          fieldConfig,
          theme,
          options.graphMode !== BigValueGraphMode.None,
        )
      }
      getAlignmentFactors={getDisplayValueAlignmentFactors}
      renderValue={render}
      width={width}
      height={height}
      source={data}
      itemSpacing={3}
      renderCounter={renderCounter}
      autoGrid={true}
      orientation={options.orientation}
    />
  );
}

const plugin = new PanelPlugin<Options>(StatPanel).useFieldConfig().setPanelOptions((b) => {
  addReduceOptions(b);
  b.addRadio({
    path: "textMode",
    name: "Text mode",
    defaultValue: defaultOptions.textMode,
    settings: { options: [] },
  })
    .addBooleanSwitch({
      path: "wideLayout",
      name: "Wide layout",
      defaultValue: defaultOptions.wideLayout,
    })
    .addRadio({
      path: "colorMode",
      name: "Color mode",
      defaultValue: defaultOptions.colorMode,
      settings: { options: [] },
    })
    .addRadio({
      path: "graphMode",
      name: "Graph mode",
      defaultValue: defaultOptions.graphMode,
      settings: { options: [] },
    })
    .addRadio({
      path: "justifyMode",
      name: "Text alignment",
      defaultValue: defaultOptions.justifyMode,
      settings: { options: [] },
    });
});

export const stat: PanelType = {
  id: "stat",
  plugin,
  check: checkSelection,
  expect(frames, options, fieldConfig) {
    const o = options as unknown as Options;
    // The theme only colours values, which the expectations do not compare.
    const values = displayValues(
      frames,
      o,
      fieldConfig,
      createTheme({ colors: { mode: "dark" } }),
      false,
    );
    const out = expectValues(values);
    const namesShown =
      o.textMode === BigValueTextMode.ValueAndName ||
      o.textMode === BigValueTextMode.Name ||
      (o.textMode === BigValueTextMode.Auto && values.length > 1);
    return namesShown ? out : { ...out, names: [], namesOnScreen: 0 };
  },
};
