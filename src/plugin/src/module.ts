// Entry point Grafana loads (dist/module.js): wires the data source and its editors.
import { DataSourcePlugin } from "@grafana/data";
import { ConfigEditor } from "./components/ConfigEditor";
import { QueryEditor } from "./components/QueryEditor";
import { DataSource } from "./datasource";
import type { KernelOptions, KernelQuery, KernelSecureOptions } from "./types";

export const plugin = new DataSourcePlugin<
  DataSource,
  KernelQuery,
  KernelOptions,
  KernelSecureOptions
>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
