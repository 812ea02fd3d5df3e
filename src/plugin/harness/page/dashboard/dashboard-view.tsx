// The dashboard page: a header like Grafana's (breadcrumb with the title, the
// variables with their selected values, the time range) and the panels placed
// on the 24-column grid. A line in the header says what this page is: the
// kernel-gossip renderer drawing with Grafana's UI components, not Grafana.
// When every panel has reported, the whole report is handed to `onDone`.
import { css } from "@emotion/css";
import { dateTimeFormat, type GrafanaTheme2 } from "@grafana/data";
import { Icon, InlineLabel, MultiSelect, Select, ToolbarButton, useStyles2 } from "@grafana/ui";
import React, { useCallback, useMemo, useRef } from "react";
import type { PanelReport } from "../../dashboard-report";
import { gridHeight, panelRect } from "./layout";
import type { DashboardModel } from "./model";
import { PanelView, type PanelEnv } from "./panel-view";
import { ALL, type VariableState } from "./template-srv";

export const PAGE_PADDING = 16;

const getStyles = (theme: GrafanaTheme2) => ({
  page: css({
    padding: `0 ${PAGE_PADDING}px ${PAGE_PADDING}px`,
    background: theme.colors.background.canvas,
    minHeight: "100vh",
  }),
  top: css({
    display: "flex",
    alignItems: "center",
    gap: theme.spacing(1),
    height: 48,
    fontSize: theme.typography.h4.fontSize,
    borderBottom: `1px solid ${theme.colors.border.weak}`,
    margin: `0 -${PAGE_PADDING}px ${theme.spacing(1)}`,
    padding: `0 ${PAGE_PADDING}px`,
    background: theme.colors.background.primary,
  }),
  crumb: css({ color: theme.colors.text.secondary }),
  note: css({
    marginLeft: "auto",
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
  }),
  controls: css({
    display: "flex",
    alignItems: "center",
    gap: theme.spacing(1),
    marginBottom: theme.spacing(1),
    flexWrap: "wrap",
  }),
  variable: css({ display: "flex" }),
  time: css({ marginLeft: "auto" }),
  grid: css({ position: "relative" }),
});

function VariablePicker({ v }: { v: VariableState }) {
  const styles = useStyles2(getStyles);
  const options = [
    ...(v.includeAll ? [{ label: "All", value: ALL }] : []),
    ...v.options.map((o) => ({ label: o, value: o })),
  ];
  const picked = options.filter((o) => v.current.includes(o.value));
  return (
    <div className={styles.variable}>
      <InlineLabel width="auto">{v.label}</InlineLabel>
      {v.multi ? (
        <MultiSelect options={options} value={picked} onChange={() => undefined} width="auto" />
      ) : (
        <Select
          options={options}
          value={picked[0] ?? null}
          onChange={() => undefined}
          width="auto"
          placeholder="None"
        />
      )}
    </div>
  );
}

export function DashboardView({
  dashboard,
  variables,
  env,
  width,
  onDone,
}: {
  dashboard: DashboardModel;
  variables: VariableState[];
  env: PanelEnv;
  width: number;
  onDone: (panels: PanelReport[]) => void;
}) {
  const styles = useStyles2(getStyles);
  const gridWidth = width - 2 * PAGE_PADDING;
  const reports = useRef(new Map<number, PanelReport>());
  const rects = useMemo(
    () => new Map(dashboard.panels.map((p) => [p.id, panelRect(p.gridPos, gridWidth)])),
    [dashboard.panels, gridWidth],
  );
  const onReport = useCallback(
    (r: PanelReport) => {
      reports.current.set(r.id, r);
      if (reports.current.size === dashboard.panels.length) {
        onDone(dashboard.panels.map((p) => reports.current.get(p.id)!));
      }
    },
    [dashboard.panels, onDone],
  );
  const fmt = (ms: number) =>
    dateTimeFormat(ms, { format: "YYYY-MM-DD HH:mm:ss", timeZone: env.timeZone });
  return (
    <div className={styles.page}>
      <div className={styles.top}>
        <Icon name="apps" />
        <span className={styles.crumb}>Dashboards › kernel-gossip ›</span>
        <span>{dashboard.title}</span>
        <span className={styles.note}>
          kernel-gossip dashboard renderer: Grafana&apos;s @grafana/ui panels with live data — not a
          Grafana server
        </span>
      </div>
      <div className={styles.controls}>
        {variables.map((v) => (
          <VariablePicker key={v.name} v={v} />
        ))}
        <div className={styles.time}>
          <ToolbarButton icon="clock-nine" variant="default">
            {fmt(env.range.from.valueOf())} to {fmt(env.range.to.valueOf())}
          </ToolbarButton>
        </div>
      </div>
      <div
        className={styles.grid}
        style={{ height: gridHeight(dashboard.panels.map((p) => p.gridPos)) }}
      >
        {dashboard.panels.map((p) => (
          <PanelView key={p.id} panel={p} env={env} rect={rects.get(p.id)!} onReport={onReport} />
        ))}
      </div>
    </div>
  );
}
