// An Explore-style page for log frames: the data source's OWN query editor
// (the built plugin's QueryEditor, as Explore shows it), then the query's log
// frame as log rows the way Explore's Logs panel lays them out — a coloured
// level strip (Grafana's log level colours), the timestamp, the line, its
// labels, and the labels common to every row above them. Grafana's log rows
// live in Grafana's app, not in @grafana/ui: this is the renderer's drawing of
// that layout with @grafana/ui parts, named so in the page header.
import { css } from "@emotion/css";
import {
  CoreApp,
  FieldType,
  dateTimeFormat,
  type DataFrame,
  type GrafanaTheme2,
} from "@grafana/data";
import { Alert, Icon, PanelChrome, ToolbarButton, useStyles2, useTheme2 } from "@grafana/ui";
import React from "react";
import type { AnyDataSource } from "./datasources/registry";

/** Grafana's log level colours (public/app/features/logs: getLogLevelStyles). */
function levelColor(theme: GrafanaTheme2, level: string): string {
  switch (level) {
    case "critical":
      return "#705da0";
    case "error":
      return theme.colors.error.main;
    case "warning":
      return theme.colors.warning.main;
    case "info":
      return theme.colors.success.main;
    case "debug":
      return theme.colors.primary.main;
    default:
      return theme.colors.text.disabled;
  }
}

const getStyles = (theme: GrafanaTheme2) => ({
  page: css({ padding: 16, background: theme.colors.background.canvas, minHeight: "100vh" }),
  top: css({
    display: "flex",
    alignItems: "center",
    gap: theme.spacing(1),
    height: 48,
    fontSize: theme.typography.h4.fontSize,
    borderBottom: `1px solid ${theme.colors.border.weak}`,
    margin: "-16px -16px 8px",
    padding: "0 16px",
    background: theme.colors.background.primary,
  }),
  note: css({
    marginLeft: "auto",
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
  }),
  editor: css({
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    padding: theme.spacing(1),
    marginBottom: theme.spacing(2),
    background: theme.colors.background.primary,
  }),
  common: css({
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
    margin: theme.spacing(0, 0, 1),
  }),
  rows: css({
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    overflow: "hidden",
  }),
  row: css({
    display: "flex",
    gap: theme.spacing(1.5),
    padding: "3px 0",
    borderBottom: `1px solid ${theme.colors.border.weak}`,
  }),
  level: css({ width: 3, flexShrink: 0, borderRadius: 2 }),
  time: css({ whiteSpace: "nowrap", color: theme.colors.text.secondary }),
  line: css({ whiteSpace: "pre-wrap", wordBreak: "break-word" }),
  labels: css({ color: theme.colors.text.secondary }),
});

function values(frame: DataFrame, name: string): unknown[] {
  return frame.fields.find((f) => f.name === name)?.values ?? [];
}

export function LogsView({
  frame,
  width,
  height,
  timeZone,
}: {
  frame: DataFrame;
  width: number;
  height: number;
  timeZone: string;
}) {
  const styles = useStyles2(getStyles);
  const theme = useTheme2();
  const time = frame.fields.find((f) => f.type === FieldType.time)?.values ?? [];
  const body = values(frame, "body");
  const severity = values(frame, "severity");
  const labels = values(frame, "labels") as Array<Record<string, string>>;
  const keys = [...new Set(labels.flatMap((l) => Object.keys(l ?? {})))];
  const common = keys.filter((k) =>
    labels.every((l) => l?.[k] !== undefined && l[k] === labels[0]?.[k]),
  );
  return (
    <PanelChrome title={`Logs · ${frame.length} lines`} width={width} height={height}>
      {() => (
        <div>
          {common.length > 0 && (
            <div className={styles.common}>
              Common labels: {common.map((k) => `${k}=${labels[0]?.[k] ?? ""}`).join("  ")}
            </div>
          )}
          <div className={styles.rows} data-testid="explore-log-rows">
            {Array.from({ length: frame.length }, (_, i) => {
              const own = Object.entries(labels[i] ?? {}).filter(([k]) => !common.includes(k));
              return (
                <div className={styles.row} key={i}>
                  <div
                    className={styles.level}
                    style={{ background: levelColor(theme, String(severity[i] ?? "")) }}
                  />
                  <span className={styles.time}>
                    {dateTimeFormat(Number(time[i]), {
                      format: "YYYY-MM-DD HH:mm:ss.SSS",
                      timeZone,
                    })}
                  </span>
                  <span className={styles.line}>
                    {String(body[i] ?? "")}
                    {own.length > 0 && (
                      <span className={styles.labels}>
                        {" "}
                        {own.map(([k, v]) => `${k}=${v}`).join(" ")}
                      </span>
                    )}
                  </span>
                </div>
              );
            })}
          </div>
        </div>
      )}
    </PanelChrome>
  );
}

export function ExploreView({
  ds,
  query,
  frame,
  errors,
  width,
  height,
  range,
  timeZone,
}: {
  ds: AnyDataSource;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query: any;
  frame?: DataFrame;
  errors: string[];
  width: number;
  height: number;
  range: { from: number; to: number };
  timeZone: string;
}) {
  const styles = useStyles2(getStyles);
  const QueryEditor = ds.components?.QueryEditor;
  const fmt = (ms: number) => dateTimeFormat(ms, { format: "YYYY-MM-DD HH:mm:ss", timeZone });
  return (
    <div className={styles.page}>
      <div className={styles.top}>
        <Icon name="compass" />
        <span>Explore · {ds.name}</span>
        <span className={styles.note}>
          kernel-gossip renderer: the plugin&apos;s query editor and Explore-style log rows drawn
          with @grafana/ui — not a Grafana server
        </span>
        <ToolbarButton icon="clock-nine">
          {fmt(range.from)} to {fmt(range.to)}
        </ToolbarButton>
      </div>
      {QueryEditor && (
        <div className={styles.editor}>
          <QueryEditor
            datasource={ds}
            query={query}
            onChange={() => undefined}
            onRunQuery={() => undefined}
            app={CoreApp.Explore}
          />
        </div>
      )}
      {errors.map((e) => (
        <Alert key={e} severity="error" title={e} />
      ))}
      {frame && <LogsView frame={frame} width={width - 32} height={height} timeZone={timeZone} />}
    </div>
  );
}
