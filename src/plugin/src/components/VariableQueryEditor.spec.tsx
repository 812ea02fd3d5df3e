import React from "react";
import { fireEvent, render, screen } from "@testing-library/react";
import type { DataSource } from "../datasource";
import type { VariableQuery } from "../types";
import { VariableQueryEditor } from "./VariableQueryEditor";

describe("VariableQueryEditor", () => {
  it("reads a hand-written string query and commits narrowing on blur", () => {
    const onChange = jest.fn();
    render(
      <VariableQueryEditor
        query={"pods?namespace=$namespace" as unknown as VariableQuery}
        onChange={onChange}
        onRunQuery={jest.fn()}
        datasource={{} as DataSource}
      />,
    );
    expect(screen.getByRole("combobox", { name: "List" })).toHaveValue("pods");
    const pod = screen.getByRole("textbox", { name: "pod narrowing" });
    fireEvent.change(pod, { target: { value: "web-0" } });
    fireEvent.blur(pod);
    expect(onChange).toHaveBeenCalledWith({
      refId: "variable",
      kind: "pods",
      namespace: "$namespace",
      pod: "web-0",
    });
  });

  it("starts new variables on the namespaces list", () => {
    render(
      <VariableQueryEditor
        query={{ refId: "A" } as VariableQuery}
        onChange={jest.fn()}
        onRunQuery={jest.fn()}
        datasource={{} as DataSource}
      />,
    );
    expect(screen.getByRole("combobox", { name: "List" })).toHaveValue("namespaces");
  });
});
