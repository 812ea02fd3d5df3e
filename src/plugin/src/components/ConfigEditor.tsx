// Data source settings: the gateway's URL (jsonData, read by the proxy route)
// and its API token (secureJsonData: Grafana's server keeps it and adds it as
// the route's Authorization header; the browser never gets it back).
import React, { type ChangeEvent } from "react";
import type { DataSourcePluginOptionsEditorProps } from "@grafana/data";
import { Field, Input, SecretInput, Stack } from "@grafana/ui";
import type { KernelOptions, KernelSecureOptions } from "../types";

type Props = DataSourcePluginOptionsEditorProps<KernelOptions, KernelSecureOptions>;

export function urlProblem(url: string | undefined): string | undefined {
  if (!url) {
    return "Required: where Grafana’s server reaches the gateway";
  }
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:"
      ? undefined
      : "Use an http:// or https:// URL";
  } catch {
    return "Not a URL";
  }
}

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields, secureJsonData } = options;
  const problem = urlProblem(jsonData.gatewayUrl);

  return (
    <Stack direction="column" gap={1}>
      <Field
        label="Gateway URL"
        description="The kernel-gossip gateway as Grafana's server reaches it, e.g. http://kernel-gossip-gateway.kernel-gossip:8080"
        invalid={Boolean(jsonData.gatewayUrl) && Boolean(problem)}
        error={problem}
      >
        <Input
          id="kg-gateway-url"
          width={60}
          placeholder="http://kernel-gossip-gateway:8080"
          value={jsonData.gatewayUrl ?? ""}
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            onOptionsChange({
              ...options,
              jsonData: { ...jsonData, gatewayUrl: e.target.value.trim() },
            })
          }
        />
      </Field>
      <Field
        label="API token"
        description="One of the gateway's KG_GATEWAY_TOKENS. Stored encrypted; sent only by Grafana's server, as a bearer token."
      >
        <SecretInput
          id="kg-api-token"
          width={60}
          isConfigured={Boolean(secureJsonFields?.apiToken)}
          value={secureJsonData?.apiToken ?? ""}
          placeholder="token"
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            onOptionsChange({
              ...options,
              secureJsonData: { ...secureJsonData, apiToken: e.target.value },
            })
          }
          onReset={() =>
            onOptionsChange({
              ...options,
              secureJsonFields: { ...secureJsonFields, apiToken: false },
              secureJsonData: { ...secureJsonData, apiToken: "" },
            })
          }
        />
      </Field>
    </Stack>
  );
}
