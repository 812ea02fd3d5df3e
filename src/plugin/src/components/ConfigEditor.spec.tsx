import React from "react";
import { fireEvent, render, screen } from "@testing-library/react";
import type { DataSourceSettings } from "@grafana/data";
import type { KernelOptions, KernelSecureOptions } from "../types";
import { ConfigEditor, urlProblem } from "./ConfigEditor";

type Options = DataSourceSettings<KernelOptions, KernelSecureOptions>;
const options = (o: Partial<Options> = {}) =>
  ({ jsonData: {}, secureJsonFields: {}, secureJsonData: {}, ...o }) as unknown as Options;

describe("ConfigEditor", () => {
  it("stores the gateway URL in jsonData", () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={options()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByLabelText(/Gateway URL/), {
      target: { value: " http://gw:8080 " },
    });
    expect(onOptionsChange).toHaveBeenCalledWith(
      expect.objectContaining({ jsonData: { gatewayUrl: "http://gw:8080" } }),
    );
  });

  it("stores the token only in secureJsonData", () => {
    const onOptionsChange = jest.fn();
    render(
      <ConfigEditor
        options={options({ jsonData: { gatewayUrl: "http://gw:8080" } })}
        onOptionsChange={onOptionsChange}
      />,
    );
    fireEvent.change(screen.getByLabelText(/API token/), { target: { value: "s3cret" } });
    const saved: Options = onOptionsChange.mock.calls[0][0];
    expect(saved.secureJsonData).toEqual({ apiToken: "s3cret" });
    expect(JSON.stringify(saved.jsonData)).not.toContain("s3cret");
  });

  it("shows a configured token as configured and resets it", () => {
    const onOptionsChange = jest.fn();
    render(
      <ConfigEditor
        options={options({
          jsonData: { gatewayUrl: "http://gw:8080" },
          secureJsonFields: { apiToken: true },
        })}
        onOptionsChange={onOptionsChange}
      />,
    );
    expect(screen.getByDisplayValue("configured")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("button", { name: /reset/i }));
    expect(onOptionsChange.mock.calls[0][0].secureJsonFields).toEqual({ apiToken: false });
  });

  it("flags a URL that is not http(s)", () => {
    render(
      <ConfigEditor
        options={options({ jsonData: { gatewayUrl: "gw:8080" } })}
        onOptionsChange={jest.fn()}
      />,
    );
    expect(screen.getByText("Use an http:// or https:// URL")).toBeInTheDocument();
    expect(urlProblem("http://gw:8080")).toBeUndefined();
    expect(urlProblem("not a url")).toBe("Not a URL");
  });
});
