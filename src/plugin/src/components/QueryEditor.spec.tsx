import React from "react";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import type { DataSource } from "../datasource";
import type { KernelQuery } from "../types";
import { QueryEditor } from "./QueryEditor";

function setup(query: KernelQuery) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const utils = render(
    <QueryEditor
      query={query}
      onChange={onChange}
      onRunQuery={onRunQuery}
      datasource={{} as DataSource}
    />,
  );
  return { onChange, onRunQuery, ...utils };
}

describe("QueryEditor", () => {
  it("offers every query type and switches type", () => {
    const { onChange, onRunQuery } = setup({
      refId: "A",
      queryType: "signal",
      signal: "cpu-throttling",
    });
    for (const label of [
      "Signal",
      "Whispers",
      "Births",
      "Truth vs metrics",
      "Pixie",
      "Annotations",
    ]) {
      expect(screen.getByRole("radio", { name: label })).toBeInTheDocument();
    }
    fireEvent.click(screen.getByRole("radio", { name: "Whispers" }));
    expect(onChange).toHaveBeenCalledWith({
      refId: "A",
      queryType: "whispers",
      signal: "cpu-throttling",
    });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it("shows the signal picker for signal queries with the current signal", () => {
    setup({ refId: "A", queryType: "signal", signal: "runqueue-delay" });
    expect(screen.getByRole("combobox", { name: "Signal" })).toHaveValue("runqueue-delay");
    expect(screen.queryByRole("combobox", { name: "Severity" })).not.toBeInTheDocument();
  });

  it("commits a name filter (template variables kept) on blur, not per key", () => {
    const { onChange, onRunQuery } = setup({ refId: "A", queryType: "whispers" });
    const ns = screen.getByRole("textbox", { name: "namespace filter" });
    fireEvent.change(ns, { target: { value: "$namespace" } });
    expect(onChange).not.toHaveBeenCalled();
    fireEvent.blur(ns);
    expect(onChange).toHaveBeenCalledWith({
      refId: "A",
      queryType: "whispers",
      filters: { namespace: "$namespace" },
    });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it("shows whisper formats and severity/signal filters for whispers", () => {
    const { onChange } = setup({ refId: "W", queryType: "whispers" });
    expect(screen.getByRole("combobox", { name: "Severity" })).toBeInTheDocument();
    expect(screen.getByRole("combobox", { name: "Signals" })).toBeInTheDocument();
    fireEvent.click(screen.getByRole("radio", { name: "Log lines" }));
    expect(onChange).toHaveBeenCalledWith({ refId: "W", queryType: "whispers", format: "logs" });
  });

  it("toggles birth timelines", () => {
    const { onChange } = setup({ refId: "B", queryType: "births" });
    fireEvent.click(screen.getByRole("switch", { name: "Timelines" }));
    expect(onChange).toHaveBeenCalledWith({ refId: "B", queryType: "births", timeline: true });
  });

  // Picking from the script list is driven in the browser harness (jsdom cannot lay the list out).
  it("shows the pixie script by name and an optional PxL text", () => {
    setup({ refId: "S", queryType: "pixie", script: "service-http" });
    expect(screen.getByRole("combobox", { name: "Pixie script" })).toHaveValue("service-http");
    cleanup();
    const { onChange, onRunQuery } = setup({ refId: "P", queryType: "pixie" });
    expect(screen.getByRole("combobox", { name: "Pixie script" })).toHaveValue("pod-network");
    const pxl = screen.getByRole("textbox", { name: "PxL script" });
    fireEvent.change(pxl, { target: { value: "px.display(df)" } });
    expect(onChange).toHaveBeenCalledWith({
      refId: "P",
      queryType: "pixie",
      pxl: "px.display(df)",
    });
    expect(onRunQuery).not.toHaveBeenCalled();
    fireEvent.blur(pxl);
    expect(onRunQuery).toHaveBeenCalled();
  });
});
