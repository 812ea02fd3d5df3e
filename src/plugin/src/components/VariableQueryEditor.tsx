// Dashboard variables: which list (namespaces, pods, containers, nodes,
// signals), narrowed by namespace/pod, which may themselves be variables.
import React, { useState, type ChangeEvent } from "react";
import { Combobox, InlineField, Input, Stack } from "@grafana/ui";
import type { VariableKind } from "../contract";
import { parseVariableQuery } from "../request";
import type { VariableQuery } from "../types";
import { variableKindOptions } from "./options";

interface Props {
  query: VariableQuery | string;
  onChange: (query: VariableQuery, definition: string) => void;
}

/** The text Grafana shows for the variable; also a valid string query. */
export const definitionOf = (q: VariableQuery) => {
  const p = new URLSearchParams();
  if (q.namespace) {
    p.set("namespace", q.namespace);
  }
  if (q.pod) {
    p.set("pod", q.pod);
  }
  const qs = decodeURIComponent(p.toString());
  return qs ? `${q.kind}?${qs}` : q.kind;
};

export function VariableQueryEditor({ query, onChange }: Props) {
  const [q, setQ] = useState<VariableQuery>(parseVariableQuery(query) ?? { kind: "namespaces" });
  const commit = (next: VariableQuery) => {
    setQ(next);
    onChange(next, definitionOf(next));
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
