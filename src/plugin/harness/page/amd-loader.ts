// A minimal AMD loader for the harness page: loads the built dist/module.js with
// a script tag and answers its define([...deps], factory) from SHARED_MODULES, as
// Grafana's plugin loader does. `module` gets the script's URI (webpack's
// public path). An unknown dependency is an error, never silently undefined.
import { SHARED_MODULES } from "./shared-modules";

type Define = ((deps: string[], factory: (...args: unknown[]) => unknown) => void) & {
  amd?: object;
};

export function loadAmdModule(uri: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const define: Define = (deps, factory) => {
      try {
        const args = deps.map((d) => {
          if (d === "module") {
            return { uri };
          }
          if (!(d in SHARED_MODULES)) {
            throw new Error(
              `harness AMD loader: ${uri} needs "${d}", which the harness does not provide`,
            );
          }
          return SHARED_MODULES[d];
        });
        resolve(factory(...args) as Record<string, unknown>);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    define.amd = {};
    (window as unknown as { define: Define }).define = define;
    const script = document.createElement("script");
    script.src = uri;
    script.onerror = () => reject(new Error(`harness AMD loader: could not load ${uri}`));
    document.head.append(script);
  });
}
