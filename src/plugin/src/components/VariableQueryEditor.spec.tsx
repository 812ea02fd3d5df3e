import React from "react";
import { fireEvent, render, screen } from "@testing-library/react";
import { VariableQueryEditor, definitionOf } from "./VariableQueryEditor";

describe("VariableQueryEditor", () => {
  it("reads a hand-written string query and commits narrowing on blur", () => {
    const onChange = jest.fn();
    render(<VariableQueryEditor query="pods?namespace=$namespace" onChange={onChange} />);
    expect(screen.getByRole("combobox", { name: "List" })).toHaveValue("pods");
    const pod = screen.getByRole("textbox", { name: "pod narrowing" });
    fireEvent.change(pod, { target: { value: "web-0" } });
    fireEvent.blur(pod);
    expect(onChange).toHaveBeenCalledWith(
      { kind: "pods", namespace: "$namespace", pod: "web-0" },
      "pods?namespace=$namespace&pod=web-0",
    );
  });

  it("writes definitions that are valid string queries", () => {
    expect(definitionOf({ kind: "namespaces" })).toBe("namespaces");
  });
});
