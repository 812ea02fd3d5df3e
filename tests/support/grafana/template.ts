// A substitute for Grafana's annotation templating (Go text/template with
// Prometheus' functions), for the subset our generated rules use:
// `{{ $labels.NAME }}`, `{{ $values.REF.Value }}` and one pipe into
// humanize, humanizePercentage or humanizeDuration. Anything else throws, so
// a rule that needs more of Grafana's template language fails its test
// instead of being rendered wrongly. Grafana itself cannot run here.

export interface TemplateData {
  labels: Record<string, string>;
  values: Record<string, number>;
}

/**
 * `v` rounded to 4 significant digits the way Go's strconv does: half to even
 * on the exact decimal value (JavaScript's toExponential rounds ties up).
 */
function round4(v: number): { digits: string; exp: number } {
  const [m = "0", e = "0"] = Math.abs(v).toExponential(40).split("e");
  const all = m.replace(".", "");
  let head = Number(all.slice(0, 4));
  const rest = all.slice(4);
  const half = "5".padEnd(rest.length, "0");
  if (rest > half || (rest === half && head % 2 === 1)) head++;
  let exp = Number(e);
  if (head === 10000) {
    head = 1000;
    exp++;
  }
  return { digits: String(head), exp };
}

/** Go's %.4g: 4 significant digits, trailing zeros dropped, exponent outside [1e-4, 1e4). */
export function goG4(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  if (v === 0) return "0";
  const sign = v < 0 ? "-" : "";
  const { digits, exp } = round4(v);
  const trim = (s: string) => (s.includes(".") ? s.replace(/\.?0+$/, "") : s);
  if (exp < -4 || exp >= 4) {
    const e = Math.abs(exp);
    const mant = trim(`${digits[0] ?? "0"}.${digits.slice(1)}`);
    return `${sign}${mant}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
  }
  // Place the decimal point: value = 0.digits × 10^(exp + 1).
  const point = exp + 1;
  const text =
    point <= 0
      ? `0.${"0".repeat(-point)}${digits}`
      : `${digits.slice(0, point).padEnd(point, "0")}.${digits.slice(point)}`;
  return sign + trim(text.endsWith(".") ? text.slice(0, -1) : text);
}

/** Go's %v for a float64 (strconv 'g', shortest digits): exponent form below 1e-4 or from 1e6. */
export function goFloat(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  if (v === 0) return "0";
  const [m = "0", e = "0"] = v.toExponential().split("e");
  const exp = Number(e);
  if (exp < -4 || exp >= 6) {
    const n = Math.abs(exp);
    return `${m}e${exp < 0 ? "-" : "+"}${n < 10 ? "0" : ""}${n}`;
  }
  return String(v);
}

const SI = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"];
const SI_SMALL = ["m", "u", "n", "p", "f", "a", "z", "y"];

/** Prometheus' template functions, as documented for alert annotations. */
const FUNCTIONS: Record<string, (v: number) => string> = {
  humanize(v) {
    if (v === 0 || !Number.isFinite(v)) return goG4(v);
    let x = v;
    if (Math.abs(x) >= 1) {
      let i = 0;
      while (Math.abs(x) >= 1000 && i < SI.length - 1) {
        x /= 1000;
        i++;
      }
      return `${goG4(x)}${SI[i] ?? ""}`;
    }
    let prefix = "";
    for (const p of SI_SMALL) {
      if (Math.abs(x) >= 1) break;
      prefix = p;
      x *= 1000;
    }
    return `${goG4(x)}${prefix}`;
  },
  humanizePercentage: (v) => `${goG4(v * 100)}%`,
  humanizeDuration(v) {
    if (!Number.isFinite(v)) return goG4(v);
    if (v === 0) return "0s";
    if (Math.abs(v) >= 1) {
      const sign = v < 0 ? "-" : "";
      const a = Math.abs(v);
      const whole = Math.floor(a);
      // Whole seconds once there are minutes; fractions only below a minute.
      const seconds = whole % 60;
      const minutes = Math.floor(whole / 60) % 60;
      const hours = Math.floor(whole / 3600) % 24;
      const days = Math.floor(whole / 86400);
      if (days) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
      if (hours) return `${sign}${hours}h ${minutes}m ${seconds}s`;
      if (minutes) return `${sign}${minutes}m ${seconds}s`;
      return `${sign}${goG4(a)}s`;
    }
    let x = v;
    let prefix = "";
    for (const p of SI_SMALL) {
      if (Math.abs(x) >= 1) break;
      prefix = p;
      x *= 1000;
    }
    return `${goG4(x)}${prefix}s`;
  },
};

const ACTION = /\{\{\s*(.*?)\s*\}\}/g;
const LABEL = /^\$labels\.([A-Za-z_][A-Za-z0-9_]*)$/;
const VALUE = /^\$values\.([A-Za-z0-9_]+)\.Value$/;

function evaluate(action: string, data: TemplateData): string {
  const [head = "", ...pipes] = action.split("|").map((s) => s.trim());
  if (pipes.length > 1) throw new Error(`unsupported template pipeline: {{ ${action} }}`);
  const label = LABEL.exec(head);
  if (label) {
    if (pipes.length) throw new Error(`unsupported pipe on a label: {{ ${action} }}`);
    // Missing labels render empty: $labels is a map of strings.
    return data.labels[label[1] ?? ""] ?? "";
  }
  const value = VALUE.exec(head);
  if (!value) throw new Error(`unsupported template action: {{ ${action} }}`);
  const v = data.values[value[1] ?? ""];
  if (v === undefined) throw new Error(`no value for refId ${value[1] ?? ""}`);
  const fn = pipes[0];
  if (fn === undefined) return goFloat(v);
  const f = FUNCTIONS[fn];
  if (!f) throw new Error(`unsupported template function: ${fn}`);
  return f(v);
}

export const renderTemplate = (text: string, data: TemplateData) =>
  text.replace(ACTION, (_, action: string) => evaluate(action, data));
