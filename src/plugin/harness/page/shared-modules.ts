// The modules Grafana hands to a plugin's AMD define(): the real packages, bundled
// for the harness page. Keys are the names webpack left external in dist/module.js.
import * as emotionCss from "@emotion/css";
import * as grafanaData from "@grafana/data";
import * as grafanaRuntime from "@grafana/runtime";
import * as grafanaUi from "@grafana/ui";
import * as React from "react";
import * as ReactDOM from "react-dom";
import * as jsxRuntime from "react/jsx-runtime";
import * as rxjs from "rxjs";

export const SHARED_MODULES: Record<string, unknown> = {
  "@emotion/css": emotionCss,
  "@grafana/data": grafanaData,
  "@grafana/runtime": grafanaRuntime,
  "@grafana/ui": grafanaUi,
  react: React,
  "react-dom": ReactDOM,
  "react/jsx-runtime": jsxRuntime,
  rxjs,
};
