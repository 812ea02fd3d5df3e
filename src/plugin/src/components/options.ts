// Labels and help for the editors' choices, derived from the contract lists so a
// new gateway type or signal shows up in the editors without another list.
import type { SelectableValue } from "@grafana/data";
import type { ComboboxOption } from "@grafana/ui";
import {
  PIXIE_SCRIPTS,
  PLOT_SIGNALS,
  SEVERITIES,
  SIGNALS,
  VARIABLE_KINDS,
  type QueryType,
} from "../contract";

const QUERY_TYPE_HELP: Record<QueryType, [string, string]> = {
  signal: ["Signal", "Time series of one kernel signal per workload"],
  whispers: ["Whispers", "KernelWhispers overlapping the range (table, or log lines in Explore)"],
  births: ["Births", "Pod birth certificates started in the range"],
  "truth-vs-metrics": [
    "Truth vs metrics",
    "Averaged CPU % of limit beside what the kernel counted",
  ],
  pixie: [
    "Pixie",
    "A shipped PxL script by name, or your own PxL (the gateway answers 501 until Pixie is configured)",
  ],
  annotations: ["Annotations", "Whispers as time-range annotations"],
};

export const queryTypeOptions = (Object.keys(QUERY_TYPE_HELP) as QueryType[]).map(
  (value): SelectableValue<QueryType> => ({
    value,
    label: QUERY_TYPE_HELP[value][0],
    description: QUERY_TYPE_HELP[value][1],
  }),
);

const opt = <T extends string>(value: T): ComboboxOption<T> => ({ value, label: value });
export const plotSignalOptions = PLOT_SIGNALS.map(opt);
export const signalOptions = SIGNALS.map(opt);
export const severityOptions = SEVERITIES.map(opt);
export const variableKindOptions = VARIABLE_KINDS.map(opt);
export const pixieScriptOptions = PIXIE_SCRIPTS.map(opt);
