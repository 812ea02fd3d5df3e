// The query editor: query type, the type's own options, and filters. Name
// filters take template variables ($namespace) and comma-separated lists;
// the query runs when a choice changes or a text field loses focus.
import React, { useState, type ChangeEvent } from "react";
import type { QueryEditorProps } from "@grafana/data";
import {
  Combobox,
  InlineField,
  InlineSwitch,
  Input,
  MultiCombobox,
  RadioButtonGroup,
  Stack,
  TextArea,
} from "@grafana/ui";
import type { DataSource } from "../datasource";
import {
  NAME_FILTERS,
  PIXIE_SCRIPTS,
  SEVERITIES,
  SIGNALS,
  type NameFilter,
  type Severity,
  type Signal,
} from "../contract";
import type { KernelOptions, KernelQuery, QueryFilters, TemplateVariable } from "../types";
import {
  pixieScriptOptions,
  plotSignalOptions,
  queryTypeOptions,
  severityOptions,
  signalOptions,
} from "./options";

type Props = QueryEditorProps<DataSource, KernelQuery, KernelOptions>;

const WHISPER_FORMATS = [
  { value: "table" as const, label: "Table" },
  { value: "logs" as const, label: "Log lines" },
];

export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  const type = query.queryType ?? "signal";
  const filters = query.filters ?? {};
  const change = (next: KernelQuery, run = true) => {
    onChange(next);
    if (run) {
      onRunQuery();
    }
  };
  const setFilters = (f: QueryFilters, run = true) => change({ ...query, filters: f }, run);
  const showsSignalFilter = type === "whispers" || type === "annotations";

  return (
    <Stack direction="column" gap={1}>
      <InlineField label="Query type" labelWidth={16}>
        <RadioButtonGroup
          options={queryTypeOptions}
          value={type}
          onChange={(v) => change({ ...query, queryType: v })}
          aria-label="Query type"
        />
      </InlineField>

      {type === "signal" && (
        <InlineField
          label="Signal"
          labelWidth={16}
          tooltip="The kernel signal to plot, one series per workload"
        >
          <Combobox
            id="kg-signal"
            aria-label="Signal"
            width={30}
            options={plotSignalOptions}
            value={query.signal ?? "cpu-throttling"}
            onChange={(o) => change({ ...query, signal: o.value })}
          />
        </InlineField>
      )}

      {type === "whispers" && (
        <InlineField label="Format" labelWidth={16} tooltip="Explore defaults to log lines">
          <RadioButtonGroup
            options={WHISPER_FORMATS}
            value={query.format}
            onChange={(v) => change({ ...query, format: v })}
            aria-label="Format"
          />
        </InlineField>
      )}

      {type === "births" && (
        <InlineField
          label="Timelines"
          labelWidth={16}
          tooltip="Also one frame per certificate with its kernel cascade"
        >
          <InlineSwitch
            aria-label="Timelines"
            value={query.timeline ?? false}
            onChange={(e: ChangeEvent<HTMLInputElement>) =>
              change({ ...query, timeline: e.currentTarget.checked })
            }
          />
        </InlineField>
      )}

      {type === "pixie" && (
        <InlineField
          label="Script"
          labelWidth={16}
          tooltip="A PxL script the gateway ships, run by name"
        >
          <Combobox
            id="kg-pixie-script"
            aria-label="Pixie script"
            width={30}
            options={pixieScriptOptions}
            value={query.script ?? PIXIE_SCRIPTS[0]}
            onChange={(o) => change({ ...query, script: o.value })}
          />
        </InlineField>
      )}

      {type === "pixie" && (
        <InlineField
          label="PxL script"
          labelWidth={16}
          grow
          tooltip="Your own PxL, sent instead of the script above when not empty; the gateway runs it only with KG_PIXIE_ALLOW_USER_SCRIPTS=true"
        >
          <TextArea
            aria-label="PxL script"
            rows={4}
            placeholder="optional"
            value={query.pxl ?? ""}
            onChange={(e: ChangeEvent<HTMLTextAreaElement>) =>
              change({ ...query, pxl: e.target.value || undefined }, false)
            }
            onBlur={onRunQuery}
          />
        </InlineField>
      )}

      {type !== "pixie" && (
        <Stack direction="row" gap={0} wrap="wrap">
          {NAME_FILTERS.map((key) => (
            <NameFilterInput
              key={key}
              name={key}
              value={filters[key]}
              onCommit={(v) => setFilters({ ...filters, [key]: v || undefined })}
            />
          ))}
        </Stack>
      )}

      {showsSignalFilter && (
        <Stack direction="row" gap={0} wrap="wrap">
          <InlineField label="Signals" labelWidth={16}>
            <MultiCombobox<Signal>
              aria-label="Signals"
              width={40}
              placeholder="any"
              options={signalOptions}
              value={(filters.signal ?? []).filter(isSignal)}
              onChange={(os) =>
                setFilters({
                  ...filters,
                  signal: [...variablesIn(filters.signal), ...os.map((o) => o.value)],
                })
              }
            />
          </InlineField>
          <InlineField label="Severity" labelWidth={12}>
            <MultiCombobox<Severity>
              aria-label="Severity"
              width={30}
              placeholder="any"
              options={severityOptions}
              value={(filters.severity ?? []).filter(isSeverity)}
              onChange={(os) =>
                setFilters({
                  ...filters,
                  severity: [...variablesIn(filters.severity), ...os.map((o) => o.value)],
                })
              }
            />
          </InlineField>
        </Stack>
      )}
    </Stack>
  );
}

const isSignal = (s: string): s is Signal => (SIGNALS as readonly string[]).includes(s);
const isSeverity = (s: string): s is Severity => (SEVERITIES as readonly string[]).includes(s);
/** A dashboard's "$signal" is not a choice the picker shows, so picking keeps it. */
const variablesIn = (list: readonly string[] | undefined) =>
  (list ?? []).filter((s): s is TemplateVariable => s.startsWith("$"));

/** A text filter that commits on blur or Enter, so typing does not run a query per key. */
function NameFilterInput(props: {
  name: NameFilter;
  value?: string;
  onCommit: (v: string) => void;
}) {
  const [text, setText] = useState(props.value ?? "");
  const commit = () => {
    if (text !== (props.value ?? "")) {
      props.onCommit(text.trim());
    }
  };
  return (
    <InlineField label={props.name[0].toUpperCase() + props.name.slice(1)} labelWidth={16}>
      <Input
        aria-label={`${props.name} filter`}
        width={24}
        placeholder="any, or $variable"
        value={text}
        onChange={(e: ChangeEvent<HTMLInputElement>) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            commit();
          }
        }}
      />
    </InlineField>
  );
}
