// Dashboard variables: which list (namespaces, pods, containers, nodes,
// signals), narrowed by namespace/pod, which may themselves be variables.
import React, { useState, type ChangeEvent } from "react";
import type { QueryEditorProps } from "@grafana/data";
import { Combobox, InlineField, Input, Stack } from "@grafana/ui";
import type { VariableKind } from "../contract";
import type { DataSource } from "../datasource";
import { parseVariableQuery } from "../request";
import type { KernelOptions, KernelQuery, VariableQuery } from "../types";
import { variableKindOptions } from "./options";

type Props = QueryEditorProps<DataSource, KernelQuery, KernelOptions, VariableQuery>;

export function VariableQueryEditor({ query, onChange }: Props) {
  // Hand-written dashboards may store "pods?namespace=$namespace" instead of an object.
  const initial = parseVariableQuery(query as VariableQuery | string);
  const [q, setQ] = useState<VariableQuery>(
    initial?.kind ? initial : { refId: "variable", kind: "namespaces" },
  );
  const commit = (next: VariableQuery) => {
    setQ(next);
    onChange(next);
  };
  return (
    <Stack direction="row" gap={0} wrap="wrap">
      <InlineField label="List" labelWidth={12}>
        <Combobox<VariableKind>
          aria-label="List"
          width={20}
          options={variableKindOptions}
          value={q.kind}
          onChange={(o) => commit({ ...q, kind: o.value })}
        />
      </InlineField>
      {(["namespace", "pod"] as const).map((key) => (
        <InlineField key={key} label={key === "namespace" ? "Namespace" : "Pod"} labelWidth={12}>
          <Input
            aria-label={`${key} narrowing`}
            width={24}
            placeholder="any, or $variable"
            value={q[key] ?? ""}
            onChange={(e: ChangeEvent<HTMLInputElement>) =>
              setQ({ ...q, [key]: e.target.value || undefined })
            }
            onBlur={() => commit(q)}
          />
        </InlineField>
      ))}
    </Stack>
  );
}
