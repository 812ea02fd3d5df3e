// Panel type "bargauge": @grafana/ui's BarGauge in a VizRepeater, one bar per
// value from getFieldDisplayValues, as Grafana's bar gauge panel draws it;
// options and defaults from @grafana/schema's bar gauge config (gradient,
// value coloured, name placed automatically, unfilled part shown, auto size).
import {
  PanelPlugin,
  createTheme,
  getDisplayValueAlignmentFactors,
  type DisplayValueAlignmentFactors,
  type FieldDisplay,
  type PanelProps,
} from "@grafana/data";
import {
  BarGaugeDisplayMode,
  BarGaugeNamePlacement,
  BarGaugeSizing,
  BarGaugeValueMode,
  type VizTextDisplayOptions,
} from "@grafana/schema";
import { defaultOptions } from "@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen";
import { BarGauge, VizRepeater, useTheme2, type VizRepeaterRenderValueProps } from "@grafana/ui";
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
  displayMode: BarGaugeDisplayMode;
  valueMode: BarGaugeValueMode;
  namePlacement: BarGaugeNamePlacement;
  showUnfilled: boolean;
  sizing: BarGaugeSizing;
  minVizWidth: number;
  minVizHeight: number;
  maxVizHeight: number;
  text?: VizTextDisplayOptions;
}

function BarGaugePanel({
  data,
  width,
  height,
  options,
  fieldConfig,
  renderCounter,
}: PanelProps<Options>) {
  const theme = useTheme2();
  const spacing = options.displayMode === BarGaugeDisplayMode.Lcd ? 2 : 10;
  const render = ({
    value,
    alignmentFactors,
    width: w,
    height: h,
    orientation,
  }: VizRepeaterRenderValueProps<FieldDisplay, DisplayValueAlignmentFactors>) => (
    <BarGauge
      value={value.display}
      width={w}
      height={h}
      orientation={orientation}
      field={value.field}
      text={options.text}
      theme={theme}
      itemSpacing={spacing}
      displayMode={options.displayMode}
      showUnfilled={options.showUnfilled}
      alignmentFactors={alignmentFactors}
      valueDisplayMode={options.valueMode}
      namePlacement={options.namePlacement}
    />
  );
  const manual = options.sizing === BarGaugeSizing.Manual;
  return (
    <VizRepeater
      source={data}
      getAlignmentFactors={getDisplayValueAlignmentFactors}
      getValues={() => displayValues(data.series, options, fieldConfig, theme)}
      renderValue={render}
      renderCounter={renderCounter}
      width={width}
      height={height}
      itemSpacing={spacing}
      orientation={options.orientation}
      minVizWidth={manual ? options.minVizWidth : 0}
      minVizHeight={manual ? options.minVizHeight : 0}
      maxVizHeight={options.maxVizHeight}
    />
  );
}

const plugin = new PanelPlugin<Options>(BarGaugePanel).useFieldConfig().setPanelOptions((b) => {
  addReduceOptions(b);
  b.addRadio({
    path: "displayMode",
    name: "Display mode",
    defaultValue: defaultOptions.displayMode,
    settings: { options: [] },
  })
    .addRadio({
      path: "valueMode",
      name: "Value display",
      defaultValue: defaultOptions.valueMode,
      settings: { options: [] },
    })
    .addRadio({
      path: "namePlacement",
      name: "Name placement",
      defaultValue: defaultOptions.namePlacement,
      settings: { options: [] },
    })
    .addBooleanSwitch({
      path: "showUnfilled",
      name: "Show unfilled area",
      defaultValue: defaultOptions.showUnfilled,
    })
    .addRadio({
      path: "sizing",
      name: "Bar size",
      defaultValue: defaultOptions.sizing,
      settings: { options: [] },
    })
    .addNumberInput({
      path: "minVizWidth",
      name: "Min width",
      defaultValue: defaultOptions.minVizWidth,
    })
    .addNumberInput({
      path: "minVizHeight",
      name: "Min height",
      defaultValue: defaultOptions.minVizHeight,
    })
    .addNumberInput({
      path: "maxVizHeight",
      name: "Max height",
      defaultValue: defaultOptions.maxVizHeight,
    });
});

export const bargauge: PanelType = {
  id: "bargauge",
  plugin,
  check: checkSelection,
  expect(frames, options, fieldConfig) {
    const o = options as unknown as Options;
    const out = expectValues(
      displayValues(frames, o, fieldConfig, createTheme({ colors: { mode: "dark" } })),
    );
    return o.namePlacement === BarGaugeNamePlacement.Hidden
      ? { ...out, names: [], namesOnScreen: 0 }
      : out;
  },
};
