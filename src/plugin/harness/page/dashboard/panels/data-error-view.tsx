// SUBSTITUTE for Grafana core's PanelDataErrorView (set into @grafana/runtime by
// Grafana's app; the renderer has no app): the centred message a panel shows
// instead of a visualisation, with Grafana's wording and precedence — "No
// data" (or the field config's noValue) when every frame is empty, then a
// missing string, number or time field, else "Cannot visualize data".
import { css } from "@emotion/css";
import {
  FieldType,
  type FieldConfigSource,
  type GrafanaTheme2,
  type PanelData,
} from "@grafana/data";
import { useStyles2 } from "@grafana/ui";
import React from "react";

export interface DataErrorProps {
  data: PanelData;
  fieldConfig?: FieldConfigSource;
  message?: string;
  needsTimeField?: boolean;
  needsNumberField?: boolean;
  needsStringField?: boolean;
}

export function dataErrorMessage(p: DataErrorProps): string {
  if (p.message) {
    return p.message;
  }
  const series = p.data.series;
  if (series.length === 0 || series.every((f) => f.length === 0)) {
    return p.fieldConfig?.defaults.noValue ?? "No data";
  }
  const has = (t: FieldType) => series.some((f) => f.fields.some((x) => x.type === t));
  if (p.needsStringField && !has(FieldType.string)) {
    return "Data is missing a string field";
  }
  if (p.needsNumberField && !has(FieldType.number)) {
    return "Data is missing a number field";
  }
  if (p.needsTimeField && !has(FieldType.time)) {
    return "Data is missing a time field";
  }
  return "Cannot visualize data";
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrapper: css({
    display: "flex",
    justifyContent: "center",
    alignItems: "center",
    height: "100%",
    width: "100%",
  }),
  message: css({
    textAlign: "center",
    color: theme.colors.text.secondary,
    fontSize: theme.typography.size.lg,
    width: "100%",
  }),
});

export function DataErrorView(props: DataErrorProps) {
  const styles = useStyles2(getStyles);
  return (
    <div className={styles.wrapper}>
      <div className={styles.message} data-testid="data-testid Panel data error message">
        {dataErrorMessage(props)}
      </div>
    </div>
  );
}
